/**
 * The attendance record over HTTP (JSON and CSV), for a scripted session on the session clock: admitted and left
 * times, minutes per room, staff presence per room, help requests, and sums equal to the cost report's
 * participant-minutes (both come from the same D1 stays rows, checked here too).
 */
import { describe, expect, it } from "vitest";
import { api, createSession, d1, flush, joinSession, stubFor, type CreatedSession } from "./helpers";

const MIN = 60_000;

async function command(token: string, sessionId: string, command: Record<string, unknown>) {
  const r = await api(`/api/sessions/${sessionId}/commands`, { token, body: { commandId: `cmd-${crypto.randomUUID()}`, command } });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
}

/**
 * Facilitator + 4 clients: 10 min together in the main room, then 2 rooms of 2 clients for 15 min with the
 * facilitator visiting r1 for the last 5 of them; one client asks for help; everyone back; one client leaves; end.
 */
async function scriptedSession() {
  const s: CreatedSession = await createSession({ settings: { autoAdmit: true } });
  const clients = [];
  for (let i = 0; i < 4; i++) clients.push(await joinSession(s.sessionId, s.invite.token, `Client ${i + 1}`));
  const stub = stubFor(s.sessionId);
  await stub.advanceClock(10 * MIN);
  await command(s.ticket, s.sessionId, { type: "createBreakouts", count: 2, mode: "manual" });
  await command(s.ticket, s.sessionId, {
    type: "bulkAssign",
    assignments: clients.map((c, i) => ({ memberId: c.memberId, roomId: i < 2 ? "r1" : "r2" })),
  });
  await command(s.ticket, s.sessionId, { type: "openBreakouts" });
  await stub.advanceClock(10 * MIN);
  await command(s.ticket, s.sessionId, { type: "visitRoom", to: "r1" });
  await command(clients[2].ticket, s.sessionId, { type: "requestHelp", message: "my partner dropped" });
  await stub.advanceClock(5 * MIN);
  await command(s.ticket, s.sessionId, { type: "closeAll", countdownSeconds: 0 });
  await command(clients[3].ticket, s.sessionId, { type: "leave" });
  await stub.advanceClock(5 * MIN);
  await command(s.ticket, s.sessionId, { type: "endSession" });
  return { s, clients };
}

describe("attendance record", () => {
  it("per client: admitted/left, minutes per room, staff presence, help requests; sums equal the report's participant-minutes", async () => {
    const { s, clients } = await scriptedSession();
    const r = await api(`/api/sessions/${s.sessionId}/attendance`, { token: s.ticket });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-store");
    const record = r.json;
    const report = (await api(`/api/sessions/${s.sessionId}/report`, { token: s.ticket })).json;

    // Clients first (joining order), then staff.
    expect(record.members.map((m: any) => [m.name, m.role, m.isStaff])).toEqual([
      ["Client 1", "participant", false],
      ["Client 2", "participant", false],
      ["Client 3", "participant", false],
      ["Client 4", "participant", false],
      ["Therapist", "facilitator", true],
    ]);
    const byName = Object.fromEntries(record.members.map((m: any) => [m.name, m]));
    for (const m of record.members) expect(m.admittedAt, m.name).toEqual(expect.any(Number));
    expect(byName["Client 4"].leftAt).toBeLessThan(record.session.endedAt);
    expect(byName["Client 1"].leftAt).toBe(record.session.endedAt);

    const room = (name: string, key: string) => byName[name].rooms.find((x: any) => x.key === key);
    // Client 1 in r1 for 15 min, the facilitator there for the last 5: staff present, 5 of the 15 minutes.
    expect(room("Client 1", "r1").ms).toBeGreaterThanOrEqual(15 * MIN);
    expect(room("Client 1", "r1").ms).toBeLessThan(15 * MIN + 5_000);
    expect(room("Client 1", "r1").staffPresent).toBe(true);
    expect(room("Client 1", "r1").staffPresentMs).toBeGreaterThanOrEqual(5 * MIN - 5_000);
    expect(room("Client 1", "r1").staffPresentMs).toBeLessThanOrEqual(5 * MIN + 5_000);
    // Client 3 in r2: no staff ever there.
    expect(room("Client 3", "r2")).toMatchObject({ staffPresent: false, staffPresentMs: 0 });
    // In the main room, the facilitator was there the whole time the clients were.
    expect(room("Client 1", "main").staffPresentMs).toBe(room("Client 1", "main").ms);
    // The facilitator's own time: they are staff, their own presence does not count as "staff present".
    expect(room("Therapist", "r1")).toMatchObject({ staffPresent: false, staffPresentMs: 0 });
    expect(record.members.map((m: any) => m.helpRequests)).toEqual([0, 0, 1, 0, 0]);
    expect(record.totals.helpRequests).toBe(1);

    // The sums are the cost report's participant-minutes, in total and room by room, to the millisecond.
    expect(record.totals.participantMs).toBe(report.totals.participantMs);
    expect(record.members.reduce((n: number, m: any) => n + m.totalMs, 0)).toBe(report.totals.participantMs);
    for (const x of report.rooms) expect(record.totals.byRoomMs[x.key], x.key).toBe(x.participantMs);
    for (const a of report.attendance) expect(record.members.find((m: any) => m.memberId === a.memberId).totalMs, a.name).toBe(a.totalMs);

    // And both are the D1 stays rows, summed independently here.
    await flush(s.sessionId);
    const stays = await d1(`SELECT member_id, location, joined_at, left_at FROM breakout_room_participants WHERE session_id = ?`, s.sessionId);
    const fromRows = stays.reduce((n: number, x: any) => n + (Math.min(x.left_at ?? record.asOf, record.asOf) - x.joined_at), 0);
    expect(record.totals.participantMs).toBe(fromRows);
    const help = await d1(`SELECT actor FROM session_analytics_events WHERE session_id = ? AND event = 'help_requested'`, s.sessionId);
    expect(help).toEqual([{ actor: clients[2].memberId }]);
  });

  it("downloads as CSV: one quoted row per member, staff-present columns, TOTAL equal to the report's minutes", async () => {
    const { s } = await scriptedSession();
    const r = await api(`/api/sessions/${s.sessionId}/attendance.csv`, { token: s.ticket });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename="session-${s.sessionId}-attendance.csv"`);
    const lines = (r.json as string).trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      '"member_id","name","role","status","admitted_at","left_at","minutes_main","staff_present_minutes_main","minutes_r1 (Room 1)","staff_present_minutes_r1 (Room 1)","minutes_r2 (Room 2)","staff_present_minutes_r2 (Room 2)","total_minutes","help_requests","checkin_requests"',
    );
    expect(lines).toHaveLength(1 + 5 + 1);
    const total = lines
      .at(-1)!
      .split(",")
      .map((x) => JSON.parse(x));
    const report = (await api(`/api/sessions/${s.sessionId}/report`, { token: s.ticket })).json;
    expect(total[0]).toBe("TOTAL");
    expect(total[12]).toBe((report.totals.participantMs / MIN).toFixed(3));
    expect(total[13]).toBe("1");
  });

  it("a client's name that starts a formula is written as text", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    await joinSession(s.sessionId, s.invite.token, '=HYPERLINK("http://x")');
    const r = await api(`/api/sessions/${s.sessionId}/attendance.csv`, { token: s.ticket });
    expect(r.status).toBe(200);
    expect((r.json as string).split("\r\n")[1]).toContain(`"'=HYPERLINK(""http://x"")"`);
  });

  it("participants cannot read it; the creator's sign-in can", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const p = await joinSession(s.sessionId, s.invite.token, "Client");
    const refused = await api(`/api/sessions/${s.sessionId}/attendance`, { token: p.ticket });
    expect([refused.status, refused.json.error.code]).toEqual([403, "FORBIDDEN"]);
    expect((await api(`/api/sessions/${s.sessionId}/attendance`, { token: s.userToken })).status).toBe(200);
    expect((await api(`/api/sessions/nosuch/attendance`, { token: s.userToken })).status).toBe(403);
  });
});
