/**
 * Alerts end to end inside workerd: failures produced through the product (Twilio refusing room creation at the local
 * Twilio-compatible server, token signing failing under joins, a D1 schema that refuses or lacks a table, a room left
 * at the provider), the Worker's `scheduled` handler invoked as the Cron Trigger would, and a local Slack-compatible
 * webhook receiving the messages (test/support/ops-receivers.ts checks Slack's payload contract).
 *
 * One file, sequential: the receivers, the local Twilio server and the incidents table are shared.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, inject, it, onTestFinished } from "vitest";
import { agreementHash, DEFAULT_AGREEMENT } from "../../lib/protocol";
import { LOCAL_TWILIO_DEFAULTS } from "../support/twilio-server";
import { api, Client, createSession, d1, joinSession, signIn, sleep, stubFor } from "../workers/helpers";
import worker from "./entry";

const ops = () => `http://127.0.0.1:${inject("opsPort")}`;
const twilio = () => `http://127.0.0.1:${inject("twilioPort")}`;
const MIN = 60_000;

interface Webhook {
  body: { text: string; blocks: { type: string; text?: { text: string } }[] };
}

async function webhooks(): Promise<Webhook[]> {
  return ((await (await fetch(`${ops()}/__ops/webhooks`)).json()) as { webhooks: Webhook[] }).webhooks;
}

/** Run the cron as Cloudflare would at `scheduledTime`, and wait for everything it left running. */
async function cron(scheduledTime = Date.now()) {
  const ctx = createExecutionContext();
  await worker.scheduled!(createScheduledController({ scheduledTime, cron: "* * * * *" }), env as never, ctx);
  await waitOnExecutionContext(ctx);
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 600)}`);
    await sleep(50);
  }
}

const about = (rule: string) => (w: Webhook) =>
  w.body.blocks.some((b) => b.type === "context" && b.text === undefined && JSON.stringify(b).includes(`rule ${rule}`));
const open = async (rule: string) => (await d1(`SELECT * FROM ops_incidents WHERE rule = ? AND resolved_at IS NULL`, rule)) as any[];

async function twilioRest(path: string, form: Record<string, string>) {
  const auth = btoa(`${LOCAL_TWILIO_DEFAULTS.apiKeySid}:${LOCAL_TWILIO_DEFAULTS.apiKeySecret}`);
  const res = await fetch(`${twilio()}${path}`, {
    method: "POST",
    headers: { Authorization: `Basic ${auth}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
  return res.json() as Promise<any>;
}

beforeEach(async () => {
  await fetch(`${ops()}/__ops/reset`, { method: "POST" });
  await fetch(`${twilio()}/__local/reset`, { method: "POST" });
  await d1(`DELETE FROM ops_incidents`);
  await d1(`DELETE FROM ops_error_counts`);
  await d1(`DELETE FROM session_analytics_events WHERE event = 'twilio_call_failed'`);
});

describe("alert cron", () => {
  it("Twilio refusing room creation opens one incident, announced once (retried when the webhook fails), and a recovery when it clears", async () => {
    // Twilio answers 401/20003 (bad API key) to the next three room creations: three sessions' main rooms fail.
    await fetch(`${twilio()}/__local/fail-next`, {
      method: "POST",
      body: JSON.stringify({ method: "POST", path: "/v1/Rooms", kind: "status", status: 401, code: 20003, message: "Authentication Error", times: 3 }),
    });
    for (let k = 0; k < 3; k++) await createSession({ mediaProvider: "twilio", title: "Monday group" });
    await until(
      () => d1(`SELECT COUNT(*) AS n FROM session_analytics_events WHERE event = 'twilio_call_failed'`),
      (r: any) => r[0].n >= 3,
      "three failures in D1",
    );

    // The webhook is down for the first post: the incident is opened, the message is not lost.
    await fetch(`${ops()}/__ops/fail-webhooks?times=1`, { method: "POST" });
    const t0 = Date.now();
    await cron(t0);
    expect(await open("twilio_room_failures")).toHaveLength(1);
    expect((await open("twilio_room_failures"))[0].notified_at).toBeNull();
    expect(await webhooks()).toEqual([]);

    await cron(t0 + MIN);
    await cron(t0 + 2 * MIN);
    const firing = (await webhooks()).filter(about("twilio_room_failures"));
    expect(firing).toHaveLength(1);
    // (The code reads "error": the session stores Twilio's message without its code, see docs/operations.md "Known gaps".)
    expect(firing[0].body.text).toMatch(
      /\[CRITICAL\] Twilio room creation failing: 3 provider room failure\(s\) in 10 min \(codes \S+ ×3\) across 3 session\(s\)/,
    );
    expect((await open("twilio_room_failures"))[0].notified_at).not.toBeNull();

    // The operator's monitoring page lists it.
    const operator = await signIn("Ops", "operator");
    const alerts = await api("/api/monitoring/alerts", { token: operator });
    expect(alerts.status).toBe(200);
    expect(alerts.json.active).toEqual([
      expect.objectContaining({ rule: "twilio_room_failures", title: "Twilio room creation failing", severity: "critical", value: 3 }),
    ]);
    expect(alerts.json.webhookConfigured).toBe(true);
    expect(alerts.json.lastRun.at).toBe(t0 + 2 * MIN);
    expect((await api("/api/monitoring/alerts", { token: await signIn("Fac") })).status).toBe(403);

    // Eleven minutes on, the failures are out of the window: resolved, and said so once.
    await cron(t0 + 11 * MIN);
    await cron(t0 + 12 * MIN);
    const all = (await webhooks()).filter(about("twilio_room_failures"));
    expect(all.map((w) => w.body.text.match(/\[(CRITICAL|RESOLVED)\]/)?.[1])).toEqual(["CRITICAL", "RESOLVED"]);
    expect(all[1].body.text).toMatch(/\[RESOLVED\] Twilio room creation failing: .* after 11 min/);
    expect(await open("twilio_room_failures")).toEqual([]);
    const after = await api("/api/monitoring/alerts", { token: operator });
    expect(after.json.active).toEqual([]);
    expect(after.json.recent).toEqual([expect.objectContaining({ rule: "twilio_room_failures", resolvedAt: t0 + 11 * MIN })]);
  });

  it("overlapping cron runs announce a new incident once", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    await stubFor(s.sessionId).failSigning(10);
    for (let k = 0; k < 10; k++)
      expect(
        (
          await api(`/api/sessions/${s.sessionId}/join`, {
            body: { invite: s.invite.token, name: `P${k}`, agreementHash: await agreementHash(DEFAULT_AGREEMENT) },
          })
        ).status,
      ).toBe(500);
    await until(
      () => d1(`SELECT COALESCE(SUM(n), 0) AS n FROM ops_error_counts`),
      (r: any) => r[0].n >= 10,
      "ten 5xx counted",
    );
    const t = Date.now();
    await Promise.all([cron(t), cron(t), cron(t + 1)]);
    const firing = (await webhooks()).filter(about("error_rate"));
    expect(firing).toHaveLength(1);
    expect(firing[0].body.text).toContain("[CRITICAL] Server errors: 10 server error(s) (HTTP 5xx) in the last 5 min");
    expect(await open("error_rate")).toHaveLength(1);
  });

  it("D1 refusing a session's rows: dead letters, and a backlog while a table is missing, read from the session's outbox", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    onTestFinished(() => fac.close());
    await fac.next((m) => m.type === "snapshot");
    await stubFor(s.sessionId).flushOutbox();
    // A schema the code does not expect: D1 refuses one member's row with a constraint (set aside, for good). (The
    // audit and analytics rows are INSERT OR IGNORE, which SQLite lets skip a CHECK silently: the member upsert is not.)
    await d1(`ALTER TABLE session_participants RENAME TO sp_saved`);
    await d1(
      `CREATE TABLE session_participants (session_id TEXT NOT NULL, member_id TEXT NOT NULL, identity TEXT NOT NULL, display_name TEXT NOT NULL CHECK (display_name != 'Refused Name'), role TEXT NOT NULL, status TEXT NOT NULL, joined_at INTEGER NOT NULL, admitted_at INTEGER, left_at INTEGER, PRIMARY KEY (session_id, member_id))`,
    );
    await d1(`INSERT INTO session_participants SELECT * FROM sp_saved`);
    try {
      await joinSession(s.sessionId, s.invite.token, "Refused Name");
      await stubFor(s.sessionId).flushOutbox();
    } finally {
      await d1(`DROP TABLE session_participants`);
      await d1(`ALTER TABLE sp_saved RENAME TO session_participants`);
    }
    await cron();
    const dead = await open("outbox_dead_letters");
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0].details).sessions).toContain(s.sessionId);
    expect((await webhooks()).filter(about("outbox_dead_letters"))).toHaveLength(1);

    // A missing table: every batch fails and is retried, rows pile up in the session (threshold 3 in this project).
    await d1(`ALTER TABLE audit_log RENAME TO audit_log_saved`);
    try {
      for (const autoAdmit of [true, false, true, false]) expect((await fac.command({ type: "updateSettings", settings: { autoAdmit } })).type).toBe("ack");
      await stubFor(s.sessionId)
        .flushOutbox()
        .catch(() => undefined);
      await cron();
      const backlog = await open("outbox_backlog");
      expect(backlog).toHaveLength(1);
      expect(JSON.parse(backlog[0].details).worstSession).toBe(s.sessionId);
    } finally {
      await d1(`ALTER TABLE audit_log_saved RENAME TO audit_log`);
    }
    // D1 is whole again: the outbox drains and the backlog incident resolves.
    await until(
      async () => {
        await stubFor(s.sessionId).flushOutbox();
        return (await stubFor(s.sessionId).debugState()).outbox;
      },
      (n) => n === 0,
      "the outbox to drain",
    );
    await cron();
    expect(await open("outbox_backlog")).toEqual([]);
    expect((await webhooks()).filter(about("outbox_backlog")).map((w) => /\[(CRITICAL|RESOLVED)\]/.exec(w.body.text)?.[1])).toEqual(["CRITICAL", "RESOLVED"]);
  });

  it("a provider room left open with no session behind it is an orphan until it is completed", async () => {
    const room = await twilioRest("/v1/Rooms", { UniqueName: "mb-0000deadbeef0000dead-main", Type: "group" });
    expect(room.status).toBe("in-progress");
    const t = Date.now() + 11 * MIN; // the room is 11 minutes old by then
    await cron(t);
    const orphan = await open("orphan_media_rooms");
    expect(orphan).toHaveLength(1);
    expect(JSON.parse(orphan[0].details)).toMatchObject({ rooms: ["mb-0000deadbeef0000dead-main"], twilioChecked: true });
    await twilioRest(`/v1/Rooms/${room.sid}`, { Status: "completed" });
    await cron(t + MIN);
    expect(await open("orphan_media_rooms")).toEqual([]);
    expect((await webhooks()).filter(about("orphan_media_rooms"))).toHaveLength(2);
  });

  it("members placed for 3+ minutes whose video never connected", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const clients: Client[] = [];
    for (const name of ["A", "B", "C"]) {
      const g = await joinSession(s.sessionId, s.invite.token, name);
      const c = await Client.connect(s.sessionId, g.ticket, name);
      onTestFinished(() => c.close());
      await c.next((m) => m.type === "snapshot");
      clients.push(c);
    }
    // B's media arrives (local mode: the client says so); A and C never do.
    clients[1].send({ type: "arrived", mediaRoom: `mb-${s.sessionId}-main` });
    await until(
      () =>
        stubFor(s.sessionId)
          .flushOutbox()
          .then(() => d1(`SELECT COUNT(*) AS n FROM session_analytics_events WHERE session_id = ? AND event = 'participant_arrived'`, s.sessionId)),
      (r: any) => r[0].n === 1,
      "B's arrival",
    );
    await cron(Date.now() + 4 * MIN);
    // Two stuck in this session (threshold 3): clear; the reading says so.
    expect(await open("media_connect_stuck")).toEqual([]);
    const ops = await api("/api/monitoring/alerts", { token: await signIn("Ops", "operator") });
    expect(ops.json.rules.find((r: any) => r.id === "media_connect_stuck").threshold).toBe(3);
    const g = await joinSession(s.sessionId, s.invite.token, "D");
    const d = await Client.connect(s.sessionId, g.ticket, "D");
    onTestFinished(() => d.close());
    await d.next((m) => m.type === "snapshot");
    await stubFor(s.sessionId).flushOutbox();
    await cron(Date.now() + 4 * MIN);
    const stuck = await open("media_connect_stuck");
    expect(stuck).toHaveLength(1);
    expect(JSON.parse(stuck[0].details).bySession).toEqual({ [s.sessionId]: 3 });
  });
});
