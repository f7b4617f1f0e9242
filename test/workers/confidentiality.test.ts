/**
 * Issue 12's session-side findings, through a real session DO (Twilio mode against the local Twilio-compatible
 * server where media is involved):
 * 1. media access ends with the placement: a move or a removal disconnects the identity from the room it left within
 *    2 s, and a connection to a room someone is not placed in (an old token) is disconnected within 2 s, with a staff
 *    notice and an audit row; tokens are short-lived and refreshed over the socket;
 * 2. a removal sticks: an invite a removed guest used admits nobody by itself any more (marked for staff), and
 *    "remove and revoke" stops the invite at once;
 * 3. one member, many sockets: at most MAX_SOCKETS_PER_MEMBER, the newest wins, one message budget for all;
 * 4. HTTP commands share that budget (429 + Retry-After), refusals are audited once per minute with a count, and a
 *    removed member is refused without the session writing anything.
 */
import { SELF } from "cloudflare:test";
import { decodeJwt } from "jose";
import { describe, expect, inject, it } from "vitest";
import { CLOSE_CODES, MAX_SOCKETS_PER_MEMBER } from "../../lib/protocol";
import { api, BASE, Client, createSession, d1, flush, joinSession, sleep, stubFor } from "./helpers";

const twilioBase = () => `http://127.0.0.1:${inject("twilioPort")}`;
async function local(path: string, body?: unknown) {
  const res = await fetch(`${twilioBase()}/__local/${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  return res.json() as Promise<any>;
}
/** Where Twilio (the local server) has each identity connected now: identity → room unique names. */
async function connectedRooms(sessionId: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const r of (await local("state")).rooms)
    if (r.unique_name.startsWith(`mb-${sessionId}-`) && r.status === "in-progress")
      for (const p of r.participants) if (p.status === "connected") (out[p.identity] ??= []).push(r.unique_name);
  return out;
}
async function deliverCallbacks(sessionId: string) {
  const { callbacks } = await local("callbacks");
  for (const cb of callbacks.filter((c: any) => c.url.includes(`/status-callback/${sessionId}`)))
    await api(new URL(cb.url).pathname, {
      body: cb.body,
      headers: { "content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": cb.signature },
    });
}
async function within<T>(ms: number, fn: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}: ${JSON.stringify(v).slice(0, 400)}`);
    await sleep(25);
  }
}

async function twilioSession(n: number) {
  const s = await createSession({ mediaProvider: "twilio", settings: { autoAdmit: true } });
  const stub = stubFor(s.sessionId);
  const fac = await Client.connect(s.sessionId, s.ticket, "fac");
  await fac.next((m) => m.type === "snapshot");
  const people = [];
  for (let i = 0; i < n; i++) {
    const j = await joinSession(s.sessionId, s.invite.token, `Client ${i + 1}`);
    const c = await Client.connect(s.sessionId, j.ticket, `p${i + 1}`);
    await c.next((m) => m.type === "snapshot");
    people.push({ ...j, c });
  }
  await within(
    3000,
    () => stub.debugState(),
    (st) => st.context!.media.main?.status === "ready",
    "main room ready",
  );
  return { s, stub, fac, people, room: (key: string) => `mb-${s.sessionId}-${key}` };
}

describe("1. media access ends with the placement (Twilio mode)", () => {
  it("a move and a removal disconnect the identity from the room it left within 2 s; an old token's reconnect is kicked within 2 s, staff told, audited", async () => {
    const { s, stub, fac, people, room } = await twilioSession(4);
    await fac.command({ type: "createBreakouts", count: 2, mode: "auto" });
    await fac.command({ type: "openBreakouts" });
    await within(
      3000,
      () => stub.debugState(),
      (st) => ["r1", "r2"].every((k) => st.context!.media[k]?.status === "ready"),
      "breakout rooms ready",
    );
    const where = async (id: string) => (await stub.debugState()).context!.members[id].location!;
    // Everyone connects to the room they were placed in (as their browsers would, with their tokens).
    for (const p of people) await local(`rooms/${room(await where(p.memberId))}/participants`, { identity: p.memberId });
    await deliverCallbacks(s.sessionId);
    const [mover, removed] = people;
    const from = await where(mover.memberId);
    const to = from === "r1" ? "r2" : "r1";

    await fac.command({ type: "move", memberId: mover.memberId, to });
    await within(
      2000,
      () => connectedRooms(s.sessionId),
      (c) => !(c[mover.memberId] ?? []).includes(room(from)),
      "mover out of the old room",
    );

    const removedFrom = await where(removed.memberId);
    await fac.command({ type: "removeMember", memberId: removed.memberId });
    await within(
      2000,
      () => connectedRooms(s.sessionId),
      (c) => (c[removed.memberId] ?? []).length === 0,
      "removed member in no room",
    );

    // The removed member's browser still holds a token that Twilio would accept (10 minutes): it reconnects.
    const held = removed.c
      .placements()
      .filter((pl) => pl.media?.token)
      .at(-1).media.token as string;
    expect(decodeJwt(held).exp! * 1000).toBeGreaterThan(Date.now());
    await local(`rooms/${room(removedFrom)}/participants`, { identity: removed.memberId });
    await deliverCallbacks(s.sessionId);
    await within(
      2000,
      () => connectedRooms(s.sessionId),
      (c) => (c[removed.memberId] ?? []).length === 0,
      "intruder kicked",
    );
    const notice = await fac.next((m) => m.type === "notice" && m.notice.kind === "unexpectedConnection");
    expect(notice.notice).toEqual({
      kind: "unexpectedConnection",
      key: removedFrom,
      roomName: expect.stringMatching(/^Room /),
      memberId: removed.memberId,
      name: "Client 2",
    });
    // Participants hear nothing of it.
    for (const p of people.slice(2)) expect(p.c.messages.some((m) => m.type === "notice" && m.notice.kind === "unexpectedConnection")).toBe(false);
    await flush(s.sessionId);
    const audit = await d1(`SELECT action, target, result FROM audit_log WHERE session_id = ? AND action = 'mediaIntruderRemoved'`, s.sessionId);
    expect(audit).toEqual([{ action: "mediaIntruderRemoved", target: removed.memberId, result: `ok:${removedFrom}` }]);

    // A moved member reconnecting to the old room later (its token still valid) is kicked and reported too; moments
    // after the move it is a race of the move itself and only kicked.
    await stub.advanceClock(30_000);
    await local(`rooms/${room(from)}/participants`, { identity: mover.memberId });
    await deliverCallbacks(s.sessionId);
    await within(
      2000,
      () => connectedRooms(s.sessionId),
      (c) => !(c[mover.memberId] ?? []).includes(room(from)),
      "old-room reconnect kicked",
    );
    await fac.next((m) => m.type === "notice" && m.notice.kind === "unexpectedConnection" && m.notice.memberId === mover.memberId);
    for (const c of [fac, ...people.map((p) => p.c)]) c.close();
  });

  it("tokens are short-lived (10 minutes) and a fresh one is pushed over the socket before expiry", async () => {
    const { stub, people, fac } = await twilioSession(1);
    const [p] = people;
    const first = p.c.lastPlacement().media;
    const claims = decodeJwt(first.token);
    expect(claims.exp! - claims.iat!).toBe(600);
    // Five minutes before expiry the session wakes and sends the member a new token for the same room.
    await stub.advanceClock(5 * 60_000 + 1000);
    const { runDurableObjectAlarm } = await import("cloudflare:test");
    await runDurableObjectAlarm(stub);
    const refreshed = await p.c.next((m) => m.type === "mediaToken");
    expect(refreshed.media.room).toBe(first.room);
    expect(refreshed.media.expiresAt).toBeGreaterThan(first.expiresAt);
    expect(refreshed).not.toHaveProperty("seq");
    fac.close();
    p.c.close();
  });
});

describe("2. a removal sticks", () => {
  it("after a guest is removed, a new guest with the same invite waits for staff (even with auto-admit), marked", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    await fac.next((m) => m.type === "snapshot");
    const g = await joinSession(s.sessionId, s.invite.token, "Gus");
    expect(g.status).toBe("admitted");
    await fac.command({ type: "removeMember", memberId: g.memberId });
    // The same guest (their credential) stays removed.
    const again = await api(`/api/sessions/${s.sessionId}/join`, { body: { invite: s.invite.token, name: "Gus", guestCredential: g.guestCredential } });
    expect({ status: again.status, code: again.json.error.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    // Without it (storage cleared, another device): the invite no longer admits by itself; staff see why.
    const other = await joinSession(s.sessionId, s.invite.token, "Gus");
    expect(other).toMatchObject({ status: "waiting", joinNote: "invite-of-removed" });
    const req = await fac.next((m) => m.type === "notice" && m.notice.kind === "joinRequest" && m.notice.memberId === other.memberId);
    expect(req.notice.note).toBe("invite-of-removed");
    // Another invite is unaffected.
    const inv2 = await api(`/api/sessions/${s.sessionId}/invites`, { token: s.ticket, body: {} });
    expect((await joinSession(s.sessionId, inv2.json.token, "Ivy")).status).toBe("admitted");
    fac.close();
  });

  it("remove and revoke this invite, in one command: the invite stops working for anyone, at once", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    await fac.next((m) => m.type === "snapshot");
    const inv = await api(`/api/sessions/${s.sessionId}/invites`, { token: s.ticket, body: {} });
    const g = await joinSession(s.sessionId, inv.json.token, "Gus");
    expect((await fac.command({ type: "removeMember", memberId: g.memberId, revokeInvite: true })).type).toBe("ack");
    const next = await api(`/api/sessions/${s.sessionId}/join`, { body: { invite: inv.json.token, name: "Someone" } });
    expect({ status: next.status, code: next.json.error.code }).toEqual({ status: 401, code: "CREDENTIAL_REVOKED" });
    await flush(s.sessionId);
    expect((await d1(`SELECT revoked_at FROM invites WHERE id = ?`, inv.json.id))[0].revoked_at).not.toBeNull();
    // The session's own invite still works.
    expect((await joinSession(s.sessionId, s.invite.token, "Ivy")).status).toBe("admitted");
    fac.close();
  });
});

describe("3. one member, many sockets", () => {
  it(`at most ${MAX_SOCKETS_PER_MEMBER} sockets: the newest wins, the oldest is told it was replaced`, async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const p = await joinSession(s.sessionId, s.invite.token, "Tab");
    const tabs: Client[] = [];
    for (let i = 0; i < MAX_SOCKETS_PER_MEMBER + 2; i++) {
      const c = await Client.connect(s.sessionId, p.ticket, `tab${i}`);
      await c.next((m) => m.type === "snapshot");
      tabs.push(c);
    }
    await sleep(50);
    expect(tabs.slice(0, 2).map((t) => t.closed)).toEqual([
      { code: CLOSE_CODES.replaced, reason: "opened in another tab or window" },
      { code: CLOSE_CODES.replaced, reason: "opened in another tab or window" },
    ]);
    expect(tabs.slice(2).every((t) => t.closed === null)).toBe(true);
    for (const t of tabs) t.close();
  });

  it("one message budget for all of a member's sockets: three sockets send no more than one", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const p = await joinSession(s.sessionId, s.invite.token, "Flood");
    const tabs: Client[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await Client.connect(s.sessionId, p.ticket, `t${i}`);
      await c.next((m) => m.type === "snapshot");
      tabs.push(c);
    }
    const t0 = Date.now();
    for (let i = 0; i < 90; i++) tabs[i % 3].send({ type: "quality", level: i % 5 });
    await within(
      3000,
      async () => tabs.filter((t) => t.closed !== null).length,
      (n) => n === 3,
      "all three cut off",
    );
    const seconds = (Date.now() - t0) / 1000;
    // The participant budget is a burst of 30 at 10/s for the member, whichever socket sends: all three were cut off
    // (1008), and what was applied fits one budget, not three.
    expect(tabs.map((t) => t.closed?.code)).toEqual([CLOSE_CODES.budget, CLOSE_CODES.budget, CLOSE_CODES.budget]);
    const applied = (await stubFor(s.sessionId).debugState()).eventNo;
    const limited = tabs.flatMap((t) => t.messages).filter((m) => m.type === "error" && m.error.code === "RATE_LIMITED");
    expect(limited).toHaveLength(3);
    expect(applied).toBeLessThan(90);
    void seconds;
    for (const t of tabs) t.close();
  });

  it("a member reconnecting in a loop: past a burst of 10 connections, the upgrade is refused 429 before any work", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const p = await joinSession(s.sessionId, s.invite.token, "Loop");
    const statuses: number[] = [];
    let refused: Response | null = null;
    for (let i = 0; i < 25 && !refused; i++) {
      const res = await SELF.fetch(`${BASE}/api/sessions/${s.sessionId}/ws?ticket=${p.ticket}`, { headers: { Upgrade: "websocket" } });
      statuses.push(res.status);
      if (res.status === 101) {
        res.webSocket!.accept();
        res.webSocket!.close(1000, "again");
      } else refused = res;
    }
    // A burst of 10 connections (plus what refills at 1/s while the loop runs), then a typed refusal with Retry-After.
    const accepted = statuses.filter((x) => x === 101).length;
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(accepted).toBeLessThan(20);
    expect(refused?.status).toBe(429);
    expect(Number(refused?.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(((await refused!.json()) as { error: { code: string } }).error.code).toBe("RATE_LIMITED");
  });
});

describe("4. HTTP commands and refusals", () => {
  it("HTTP commands take from the member's budget: past it, 429 RATE_LIMITED with Retry-After", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const p = await joinSession(s.sessionId, s.invite.token, "Http");
    const t0 = Date.now();
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        api(`/api/sessions/${s.sessionId}/commands`, { token: p.ticket, body: { commandId: `http-flood-${i}-xx`, command: { type: "requestHelp" } } }),
      ),
    );
    const seconds = (Date.now() - t0) / 1000;
    const passed = replies.filter((r) => r.status !== 429).length;
    // A burst of 30, then 10 a second: the same budget the member's sockets use.
    expect(passed).toBeGreaterThanOrEqual(30);
    expect(passed).toBeLessThanOrEqual(30 + Math.ceil(10 * seconds));
    const limited = replies.find((r) => r.status === 429)!;
    expect(limited.json.error.code).toBe("RATE_LIMITED");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
  });

  it("a member's repeated refusals are audited as one row per minute with their count", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const p = await joinSession(s.sessionId, s.invite.token, "Pat");
    for (let i = 0; i < 12; i++)
      expect(
        (await api(`/api/sessions/${s.sessionId}/commands`, { token: p.ticket, body: { commandId: `refused-${i}-xxxx`, command: { type: "endSession" } } }))
          .status,
      ).toBe(403);
    await flush(s.sessionId);
    const rows = await d1(`SELECT action, result, count FROM audit_log WHERE session_id = ? AND actor = ?`, s.sessionId, p.memberId);
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(12);
    expect(rows.length).toBeLessThanOrEqual(2); // one per minute; the twelve may straddle a minute boundary
    expect(rows.every((r) => r.action === "endSession" && r.result === "refused:FORBIDDEN")).toBe(true);
  });

  it("a removed member is refused without the session storing anything", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const fac = await Client.connect(s.sessionId, s.ticket, "fac");
    await fac.next((m) => m.type === "snapshot");
    const p = await joinSession(s.sessionId, s.invite.token, "Rem");
    await fac.command({ type: "removeMember", memberId: p.memberId });
    await flush(s.sessionId);
    const before = await stubFor(s.sessionId).debugState();
    const auditBefore = (await d1(`SELECT COUNT(*) AS n FROM audit_log WHERE session_id = ?`, s.sessionId))[0].n;
    for (let i = 0; i < 20; i++) {
      const r = await api(`/api/sessions/${s.sessionId}/commands`, {
        token: p.ticket,
        body: { commandId: `removed-${i}-xxxx`, command: { type: "requestHelp" } },
      });
      expect({ status: r.status, code: r.json.error.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    }
    const after = await stubFor(s.sessionId).debugState();
    expect(after.outbox).toBe(0);
    expect(after.eventNo).toBe(before.eventNo);
    await flush(s.sessionId);
    expect((await d1(`SELECT COUNT(*) AS n FROM audit_log WHERE session_id = ?`, s.sessionId))[0].n).toBe(auditBefore);
    fac.close();
  });
});
