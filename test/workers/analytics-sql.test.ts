/// <reference types="vite/client" />
/**
 * "The SQL in the docs runs against the event shape": two scripted sessions run through the real Worker and session
 * Durable Object; every data point written to the ANALYTICS binding is captured, loaded into a table with the
 * Analytics Engine shape, and every `-- query:` block of docs/monitoring.md is run against it (after the documented,
 * mechanical translation of Analytics Engine functions SQLite lacks) and its numbers checked.
 *
 * Capturing: Miniflare's local Analytics Engine simulator accepts writeDataPoint and discards it. The binding object is
 * shared by the test and the Durable Object (same isolate), so wrapping its writeDataPoint observes every write.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import docs from "../../docs/monitoring.md?raw";
import { anonymise, recordWorkerEvent } from "../../lib/runtime/analytics";
import { mediaRoomName } from "../../lib/protocol";
import type { Bindings } from "../../lib/runtime/env";
import { api, Client, createSession, d1, flush, joinSession, stubFor, type CreatedSession } from "./helpers";

const MIN = 60_000;
const TABLE = "mindbloom_video_events";

interface Captured {
  point: AnalyticsEngineDataPoint;
  at: number;
}

const ae = (env as unknown as Bindings).ANALYTICS as AnalyticsEngineDataset & { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void };
const captured: Captured[] = [];
let original: AnalyticsEngineDataset["writeDataPoint"];

beforeAll(() => {
  original = ae.writeDataPoint;
  ae.writeDataPoint = function (this: unknown, p?: AnalyticsEngineDataPoint) {
    if (p) captured.push({ point: structuredClone(p), at: Date.now() });
    return original.call(ae, p);
  };
});
afterAll(() => {
  ae.writeDataPoint = original;
});

/** The documented queries, by name, from docs/monitoring.md. */
function documentedQueries(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of docs.matchAll(/```sql\n-- query: ([a-z_]+)\n([\s\S]*?)```/g)) out.set(m[1], m[2].trim());
  return out;
}

/** The mechanical translation documented in docs/monitoring.md ("How the SQL is tested"). */
function toSqlite(sql: string, nowSeconds: number): string {
  const unit: Record<string, number> = { DAY: 86400, HOUR: 3600, MINUTE: 60 };
  return sql
    .replace(/toUInt32\(([^()]+)\)/g, "$1")
    .replace(/intDiv\(([^(),]+),\s*([^(),]+)\)/g, "($1 / $2)")
    .replace(/NOW\(\)/g, String(nowSeconds))
    .replace(/INTERVAL '(\d+)' (DAY|HOUR|MINUTE)/g, (_m, n: string, u: string) => `(${n} * ${unit[u]})`);
}

async function loadTable(points: readonly Captured[]) {
  const cols = [
    "timestamp INTEGER NOT NULL",
    "index1 TEXT NOT NULL",
    ...Array.from({ length: 20 }, (_, i) => `blob${i + 1} TEXT NOT NULL DEFAULT ''`),
    ...Array.from({ length: 20 }, (_, i) => `double${i + 1} REAL NOT NULL DEFAULT 0`),
    "_sample_interval INTEGER NOT NULL DEFAULT 1",
  ];
  const db = (env as unknown as Bindings).DB;
  await db.prepare(`DROP TABLE IF EXISTS ${TABLE}`).run();
  await db.prepare(`CREATE TABLE ${TABLE} (${cols.join(", ")})`).run();
  const stmts = points.map(({ point, at }) => {
    const blobs = point.blobs ?? [];
    const doubles = point.doubles ?? [];
    const names = ["timestamp", "index1", ...blobs.map((_, i) => `blob${i + 1}`), ...doubles.map((_, i) => `double${i + 1}`), "_sample_interval"];
    const values = [Math.floor(at / 1000), String(point.indexes?.[0] ?? ""), ...blobs.map((b) => String(b ?? "")), ...doubles, 1];
    return db.prepare(`INSERT INTO ${TABLE} (${names.join(", ")}) VALUES (${names.map(() => "?").join(", ")})`).bind(...values);
  });
  await db.batch(stmts);
}

async function command(s: CreatedSession, command: Record<string, unknown>) {
  const r = await api(`/api/sessions/${s.sessionId}/commands`, { token: s.ticket, body: { commandId: `cmd-${crypto.randomUUID()}`, command } });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
}

async function until(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 250; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("Analytics Engine data points and the documented SQL", () => {
  it("runs every documented query against what a scripted pair of sessions wrote", async () => {
    // Session A: facilitator + 4, quality samples, a breakout round of 2 rooms with one move, a provider failure, 50 min.
    const a = await createSession({ settings: { autoAdmit: true } });
    const people: (Awaited<ReturnType<typeof joinSession>> & { c: Client })[] = [];
    for (let i = 0; i < 4; i++) {
      const j = await joinSession(a.sessionId, a.invite.token, `Client ${i + 1}`);
      const c = await Client.connect(a.sessionId, j.ticket, `p${i + 1}`);
      await c.next((m) => m.type === "snapshot");
      people.push({ ...j, c });
    }
    const stubA = stubFor(a.sessionId);
    const levels: [number, number][] = [
      [0, 5],
      [1, 4],
      [2, 4],
      [3, 2],
      [3, 1],
    ];
    for (const [who, level] of levels) {
      people[who].c.send({ type: "quality", level });
      await until(async () => (await stubA.debugState()).context!.members[people[who].memberId].quality === level, `quality ${level}`);
    }
    await command(a, { type: "createBreakouts", count: 2, mode: "auto" });
    await command(a, { type: "openBreakouts" });
    const st = await stubA.debugState();
    const p1 = people[0].memberId;
    const target = st.context!.members[p1].location === "r1" ? "r2" : "r1";
    await command(a, { type: "move", memberId: p1, to: target });
    await stubA.applySystemEvent({
      type: "mediaUpdated",
      media: { key: "main", name: mediaRoomName(a.sessionId, "main"), status: "failed", sid: null, error: "Twilio error 53113: Room exists" },
    });
    await stubA.advanceClock(20 * MIN);
    await command(a, { type: "closeAll", countdownSeconds: 0 });
    await stubA.advanceClock(30 * MIN);
    // Worker events: a media token handed out (session known), a callback refused before attribution (no session).
    await recordWorkerEvent(env as unknown as Bindings, "token_issued", {
      sessionId: a.sessionId,
      memberId: p1,
      role: "participant",
      provider: "local",
      location: "main",
      ttlSeconds: 3600,
    });
    const before = captured.length;
    await recordWorkerEvent(env as unknown as Bindings, "callback_rejected", { reason: "signature", httpStatus: 403 });
    const rejected = captured.slice(before);
    expect(rejected).toHaveLength(1);
    await command(a, { type: "endSession" });

    // Session B: facilitator + 2, 10 minutes, no breakouts.
    const b = await createSession({ settings: { autoAdmit: true } });
    for (let i = 0; i < 2; i++) await joinSession(b.sessionId, b.invite.token, `Guest ${i + 1}`);
    await stubFor(b.sessionId).advanceClock(10 * MIN);
    await command(b, { type: "endSession" });

    const ours = new Set([anonymise(a.sessionId), anonymise(b.sessionId)]);
    const points = [...captured.filter((c) => ours.has(String(c.point.indexes?.[0]))), ...rejected];

    // The shape: 1 index, ≤ 20 blobs, ≤ 20 doubles, small blobs; no personal data or raw ids anywhere.
    const names = ["Therapist", "Client", "Guest"];
    for (const { point } of points) {
      expect(point.indexes).toHaveLength(1);
      expect(String(point.indexes![0])).toMatch(/^([0-9a-f]{16}|none)$/);
      expect(point.blobs!.length).toBeLessThanOrEqual(20);
      expect(point.doubles!.length).toBeLessThanOrEqual(20);
      expect(point.blobs).toHaveLength(11);
      expect(point.doubles).toHaveLength(8);
      expect(point.blobs!.reduce((n, x) => n + String(x).length, 0)).toBeLessThan(1024);
      for (const blob of point.blobs!.map(String)) {
        expect(blob).not.toMatch(/^[mr]\d+$/);
        for (const bad of [a.sessionId, b.sessionId, "user:", "guest:", "dev-", ...names]) expect(blob).not.toContain(bad);
      }
    }

    // D1 keeps the same events per session.
    for (const s of [a, b]) {
      await flush(s.sessionId);
      const rows = await d1(`SELECT event FROM session_analytics_events WHERE session_id = ?`, s.sessionId);
      const fromAe = points.filter((p) => p.point.indexes![0] === anonymise(s.sessionId)).map((p) => String(p.point.blobs![0]));
      expect(rows.map((r) => r.event).sort()).toEqual(fromAe.sort());
    }
    const events = new Set(points.map((p) => String(p.point.blobs![0])));
    for (const e of [
      "session_created",
      "session_ended",
      "participant_joined",
      "participant_admitted",
      "participant_left",
      "participant_connected",
      "breakout_round_opened",
      "breakout_round_closed",
      "participant_moved",
      "token_issued",
      "twilio_call_failed",
      "callback_rejected",
      "connection_quality",
    ])
      expect(events, e).toContain(e);

    await loadTable(points);
    const nowSeconds = Math.floor(Date.now() / 1000) + 1;
    const queries = documentedQueries();
    const run = async (name: string) => {
      const sql = queries.get(name);
      expect(sql, `docs/monitoring.md has no query "${name}"`).toBeDefined();
      expect(sql).toContain("_sample_interval");
      expect(sql).not.toMatch(/\bcount\(/i);
      return d1(toSqlite(sql!, nowSeconds));
    };
    const sum = (rows: any[], k: string) => rows.reduce((acc, r) => acc + Number(r[k]), 0);

    const creation = await run("session_creation_rate");
    expect(sum(creation, "sessions_created")).toBe(2);
    for (const r of creation) expect(r.hour % 3600).toBe(0);

    const usage = await run("breakout_usage");
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ rounds_opened: 1, rooms_opened: 2, people_placed: 4, avg_rooms_per_round: 2, avg_people_per_room: 2 });
    expect(usage[0].day % 86400).toBe(0);

    const moves = await run("breakout_moves");
    expect(moves).toEqual([
      { reason: "closeAll", moves: 4 },
      { reason: "openBreakouts", moves: 4 },
      { reason: "move", moves: 1 },
    ]);

    const roundLength = await run("breakout_round_length");
    expect(roundLength[0].rounds_closed).toBe(1);
    expect(roundLength[0].avg_round_minutes).toBeGreaterThanOrEqual(20);
    expect(roundLength[0].avg_round_minutes).toBeLessThan(20.5);

    const duration = await run("average_session_duration");
    expect(duration).toHaveLength(1);
    expect(duration[0]).toMatchObject({ ended_by: "facilitator", sessions_ended: 2 });
    expect(duration[0].avg_duration_minutes).toBeGreaterThanOrEqual(30);
    expect(duration[0].avg_duration_minutes).toBeLessThan(30.5);

    const quality = await run("connection_quality_distribution");
    expect(quality).toEqual([
      { level: 1, samples: 1 },
      { level: 2, samples: 1 },
      { level: 4, samples: 2 },
      { level: 5, samples: 1 },
    ]);

    const failures = await run("room_connection_failures");
    expect(failures.map((r) => [r.kind, r.code, r.failures]).sort()).toEqual([
      ["callback_rejected", "signature", 1],
      ["twilio_call_failed", "53113", 1],
    ]);

    const counts = await run("participant_counts");
    expect(counts).toEqual([{ sessions: 2, avg_participants: 4, max_participants: 5 }]);

    const admissions = await run("admissions_by_role");
    const byRole: Record<string, number> = {};
    for (const r of admissions) byRole[r.role] = (byRole[r.role] ?? 0) + r.admitted;
    expect(byRole).toEqual({ facilitator: 2, participant: 6 });

    const tokens = await run("tokens_issued");
    expect(sum(tokens, "tokens")).toBe(1);
    expect(tokens[0].provider).toBe("local");

    // Every documented query ran (none is left untested).
    expect([...queries.keys()].sort()).toEqual(
      [
        "admissions_by_role",
        "average_session_duration",
        "breakout_moves",
        "breakout_round_length",
        "breakout_usage",
        "connection_quality_distribution",
        "participant_counts",
        "room_connection_failures",
        "session_creation_rate",
        "tokens_issued",
      ].sort(),
    );
    people.forEach((p) => p.c.close());
  });
});
