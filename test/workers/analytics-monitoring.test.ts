/**
 * Operator monitoring over HTTP (overview and per-minute time series from D1) and the one-log-line-per-request
 * middleware. D1 may hold other test files' sessions, so totals are checked as "at least", and our own session exactly.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, Client, createSession, flush, joinSession, signIn, sleep, stubFor, type CreatedSession } from "./helpers";

async function command(s: CreatedSession, command: Record<string, unknown>, token = s.ticket) {
  return api(`/api/sessions/${s.sessionId}/commands`, { token, body: { commandId: `cmd-${crypto.randomUUID()}`, command } });
}

async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 250; i++) {
    last = await get();
    if (ok(last)) return last;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
}

afterEach(() => vi.restoreAllMocks());

describe("operator monitoring", () => {
  it("is for operators only", async () => {
    const s = await createSession();
    const facilitator = await signIn("Fay", "facilitator");
    for (const path of ["/api/monitoring/overview", "/api/monitoring/timeseries"]) {
      expect((await api(path)).status).toBe(401);
      const f = await api(path, { token: facilitator });
      expect([f.status, f.json.error.code]).toEqual([403, "FORBIDDEN"]);
      expect((await api(path, { token: s.ticket })).status).toBe(401); // a member ticket is not a sign-in
    }
  });

  it("shows live sessions, people and rooms now, and drops a session once it ends", async () => {
    const operator = await signIn("Olga", "operator");
    const s = await createSession({ settings: { autoAdmit: false } });
    const [a, b, c] = [
      await joinSession(s.sessionId, s.invite.token, "Ann"),
      await joinSession(s.sessionId, s.invite.token, "Ben"),
      await joinSession(s.sessionId, s.invite.token, "Cat"),
    ];
    expect((await command(s, { type: "admit", memberId: a.memberId })).status).toBe(200);
    expect((await command(s, { type: "admit", memberId: b.memberId })).status).toBe(200);
    const ca = await Client.connect(s.sessionId, a.ticket, "a");
    const cb = await Client.connect(s.sessionId, b.ticket, "b");
    await ca.next((m) => m.type === "snapshot");
    await cb.next((m) => m.type === "snapshot");
    expect((await command(s, { type: "createBreakouts", count: 2, mode: "auto" })).status).toBe(200);
    expect((await command(s, { type: "openBreakouts" })).status).toBe(200);
    await flush(s.sessionId);

    const overview = async () => (await api("/api/monitoring/overview", { token: operator })).json;
    const mine = (o: any) => o.liveSessions.find((x: any) => x.id === s.sessionId);
    const o = await overview();
    expect(mine(o)).toEqual({
      id: s.sessionId,
      phase: "open",
      mediaProvider: "local",
      createdAt: expect.any(Number),
      roundsCompleted: 0,
      admitted: 3, // facilitator, Ann, Ben
      waiting: 1, // Cat
      connected: 2, // Ann's and Ben's sockets
      openRooms: 2,
      mediaRooms: 0, // local media: no provider rooms
      placed: 3, // facilitator in main, Ann and Ben in rooms
    });
    expect(o.sessions.active).toBeGreaterThanOrEqual(1);
    expect(o.sessions.byPhase.open).toBeGreaterThanOrEqual(1);
    expect(o.participants.admitted).toBeGreaterThanOrEqual(3);
    expect(o.participants.waiting).toBeGreaterThanOrEqual(1);
    expect(o.participants.connected).toBeGreaterThanOrEqual(2);
    expect(o.participants.inMediaRooms).toBeGreaterThanOrEqual(3);
    expect(o.rooms.breakoutOpen).toBeGreaterThanOrEqual(2);
    expect(o.rooms.open).toBe(o.rooms.main + o.rooms.breakoutOpen);
    expect(o.last24h.sessionsCreated).toBeGreaterThanOrEqual(1);
    expect(o.last24h.estimatedCostUsd).toMatch(/^\d+\.\d\d$/);
    // No titles, names or identities on the operator screen.
    expect(JSON.stringify(o)).not.toMatch(/Ann|Ben|Cat|Therapist|Tuesday group|user:|guest:/);

    // Ben's socket goes: the overview follows (the engine records the disconnection; the outbox delivers it).
    cb.close();
    await until(
      async () => {
        await flush(s.sessionId);
        return mine(await overview());
      },
      (x) => x?.connected === 1,
      "Ben's disconnection",
    );

    expect((await command(s, { type: "endSession" })).status).toBe(200);
    await flush(s.sessionId);
    expect(mine(await overview())).toBeUndefined();
    ca.close();
    void c;
  });

  it("gives per-minute series of sessions, participants, rooms, commands, errors and quality", async () => {
    const operator = await signIn("Olga", "operator");
    const s = await createSession({ settings: { autoAdmit: true } });
    const people: (Awaited<ReturnType<typeof joinSession>> & { c?: Client })[] = [];
    for (const name of ["Ann", "Ben", "Cat"]) people.push(await joinSession(s.sessionId, s.invite.token, name));
    const ca = await Client.connect(s.sessionId, people[0].ticket, "a");
    await ca.next((m) => m.type === "snapshot");
    ca.send({ type: "quality", level: 3 });
    await until(
      async () => (await stubFor(s.sessionId).debugState()).context!.members[people[0].memberId].quality,
      (q) => q === 3,
      "quality",
    );
    expect((await command(s, { type: "createBreakouts", count: 2, mode: "auto" })).status).toBe(200);
    expect((await command(s, { type: "openBreakouts" })).status).toBe(200);
    // A refused command (a participant cannot open rooms) counts as an error.
    const refused = await command(s, { type: "closeAll" }, people[1].ticket);
    expect(refused.status).toBe(403);
    await flush(s.sessionId);

    for (const bad of ["0", "1441", "abc", "-5", "1.5"]) {
      const r = await api(`/api/monitoring/timeseries?minutes=${bad}`, { token: operator });
      expect([bad, r.status, r.json.error.code]).toEqual([bad, 400, "INVALID_MESSAGE"]);
    }
    const r = await api("/api/monitoring/timeseries?minutes=5", { token: operator });
    expect(r.status).toBe(200);
    const ts = r.json;
    expect(ts.bucketMs).toBe(60_000);
    expect(ts.t).toHaveLength(5);
    for (let i = 1; i < 5; i++) expect(ts.t[i] - ts.t[i - 1]).toBe(60);
    expect(ts.to - ts.from).toBe(5 * 60_000);
    expect(ts.t[0] * 1000).toBe(ts.from);
    const keys = ["sessions", "participants", "openRooms", "commands", "refused", "twilioFailures", "callbacksRejected", "errors", "sessionsCreated", "joins"];
    expect(Object.keys(ts.series).sort()).toEqual([...keys, "quality"].sort());
    for (const k of keys) expect(ts.series[k]).toHaveLength(5);
    expect(ts.series.quality).toHaveLength(6);
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    // The session is live now: the current minute has it, its 4 people in media rooms and its 2 open rooms.
    expect(ts.series.sessions[4]).toBeGreaterThanOrEqual(1);
    expect(ts.series.participants[4]).toBeGreaterThanOrEqual(4);
    expect(ts.series.openRooms[4]).toBeGreaterThanOrEqual(2);
    expect(total(ts.series.sessionsCreated)).toBeGreaterThanOrEqual(1);
    expect(total(ts.series.joins)).toBeGreaterThanOrEqual(4);
    expect(total(ts.series.commands)).toBeGreaterThanOrEqual(3); // createBreakouts, openBreakouts, the refused closeAll
    expect(total(ts.series.refused)).toBeGreaterThanOrEqual(1);
    expect(total(ts.series.quality[3])).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 5; i++) expect(ts.series.errors[i]).toBe(ts.series.refused[i] + ts.series.twilioFailures[i] + ts.series.callbacksRejected[i]);
    ca.close();
  });
});

describe("request logs", () => {
  it("writes one JSON line per request with its request id, never the query string", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    });
    const requestLines = (id: string) =>
      lines
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return null;
          }
        })
        .filter((x) => x && x.msg === "request" && x.requestId === id);

    const ok = await api("/api/health", { headers: { "X-Request-Id": "test-req-0001" } });
    expect(ok.headers.get("x-request-id")).toBe("test-req-0001");
    expect(requestLines("test-req-0001")).toEqual([
      expect.objectContaining({ level: "info", method: "GET", path: "/api/health", route: "/api/health", status: 200, durationMs: expect.any(Number) }),
    ]);

    await api("/api/nothing-here", { headers: { "X-Request-Id": "test-req-0002" } });
    expect(requestLines("test-req-0002")).toEqual([expect.objectContaining({ level: "warn", status: 404 })]);

    const s = await createSession();
    await api(`/api/sessions/${s.sessionId}/ws?ticket=${s.ticket}`, { headers: { "X-Request-Id": "test-req-0003" } }); // not an upgrade: 426
    const ws = requestLines("test-req-0003");
    expect(ws).toEqual([expect.objectContaining({ status: 426, path: `/api/sessions/${s.sessionId}/ws`, sessionId: s.sessionId, memberId: s.memberId })]);
    expect(lines.join("\n")).not.toContain(s.ticket);

    // Without an id, one is made up and the line carries it.
    const fresh = await api("/api/config");
    const id = fresh.headers.get("x-request-id")!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestLines(id)).toHaveLength(1);
  });
});
