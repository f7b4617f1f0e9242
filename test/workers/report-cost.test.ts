/**
 * Session report, CSV and live cost over HTTP, for a scripted session on the session clock (advanceClock):
 * the guide's example — 10 people together in the main room for 60 minutes ($0.90), then 5 breakout rooms of 2 for
 * 20 minutes ($0.30), total $1.20 — and who may read it.
 */
import { describe, expect, it } from "vitest";
import { api, createSession, joinSession, signIn, stubFor, type CreatedSession } from "./helpers";

const MIN = 60_000;
/** Real time passes between the scripted steps (HTTP calls take milliseconds): allow this much per participant. */
const SLACK_MS = 10_000;

async function command(s: CreatedSession, command: Record<string, unknown>) {
  const r = await api(`/api/sessions/${s.sessionId}/commands`, { token: s.ticket, body: { commandId: `cmd-${crypto.randomUUID()}`, command } });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json.ack;
}

/** Facilitator + 9 participants in the main room for 60 minutes, then 5 rooms of 2 (facilitator included). */
async function guideSession() {
  const s = await createSession({ settings: { autoAdmit: true } });
  const people = [];
  for (let i = 0; i < 9; i++) people.push(await joinSession(s.sessionId, s.invite.token, `Client ${i + 1}`));
  const stub = stubFor(s.sessionId);
  await stub.advanceClock(60 * MIN);
  await command(s, { type: "createBreakouts", count: 5, mode: "auto", includeStaff: [s.memberId] });
  await command(s, { type: "openBreakouts" });
  const st = await stub.debugState();
  const byRoom: Record<string, number> = {};
  for (const m of Object.values(st.context!.members)) byRoom[m.location!] = (byRoom[m.location!] ?? 0) + 1;
  expect(byRoom).toEqual({ r1: 2, r2: 2, r3: 2, r4: 2, r5: 2 });
  await stub.advanceClock(20 * MIN);
  return { s, people, stub, locations: Object.fromEntries(Object.values(st.context!.members).map((m) => [m.id, m.location!])) };
}

describe("session report and cost", () => {
  it("reproduces the guide's example: $0.90 main room + $0.30 breakout rooms = $1.20, live and in the final report", async () => {
    const { s, stub, locations } = await guideSession();

    // Live, 20 minutes into the breakout round.
    const live = await api(`/api/sessions/${s.sessionId}/cost`, { token: s.ticket });
    expect(live.status, JSON.stringify(live.json)).toBe(200);
    expect(live.headers.get("cache-control")).toBe("no-store");
    expect(live.json.estimate).toMatchObject({ live: true, placedNow: 10, costMicrosPerMinuteNow: 15_000 });
    expect(live.json.totals.costUsd).toBe("1.20");
    const liveMain = live.json.rooms.find((r: any) => r.key === "main");
    expect(liveMain.costUsd).toBe("0.90");
    expect(live.json.rooms.filter((r: any) => r.key !== "main").map((r: any) => r.costUsd)).toEqual(["0.06", "0.06", "0.06", "0.06", "0.06"]);
    // Cost controls: default 4 h limit; if all 10 stayed until it, 160 more minutes each = $2.40 more.
    expect(live.json.costControls).toMatchObject({ maxSessionSeconds: 14_400, maxParticipantsPerRoom: 50, emptyRoomTimeoutSeconds: 120 });
    expect(live.json.estimate.projectedAtLimitMicros).toBeGreaterThanOrEqual(3_600_000 - 10 * SLACK_MS * 0.025);
    expect(live.json.estimate.projectedAtLimitMicros).toBeLessThanOrEqual(3_600_000 + 10);

    // Everyone back to the main room, then the session ends.
    await command(s, { type: "closeAll", countdownSeconds: 0 });
    await command(s, { type: "endSession" });
    expect((await stub.debugState()).phase).toBe("ended");

    const r = await api(`/api/sessions/${s.sessionId}/report`, { token: s.ticket });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const report = r.json;
    expect(report.session).toMatchObject({ id: s.sessionId, phase: "ended", mediaProvider: "local", roundsCompleted: 1 });
    expect(report.asOf).toBe(report.session.endedAt);
    expect(report.billedByTwilio).toBe(false);
    expect(report.price).toEqual({ perParticipantMinuteUsd: "0.0015", nanosPerParticipantMinute: 1_500_000 });
    expect(report.estimate).toMatchObject({ live: false, placedNow: 0 });

    const main = report.rooms.find((x: any) => x.key === "main");
    expect(main.participantMs).toBeGreaterThanOrEqual(600 * MIN);
    expect(main.participantMs).toBeLessThan(600 * MIN + 10 * SLACK_MS);
    expect(main.people).toBe(10);
    expect(main.costUsd).toBe("0.90");
    const breakouts = report.rooms.filter((x: any) => x.key !== "main");
    expect(breakouts.map((x: any) => [x.key, x.people, x.status, x.round, x.costUsd])).toEqual(
      ["r1", "r2", "r3", "r4", "r5"].map((k) => [k, 2, "closed", 1, "0.06"]),
    );
    for (const x of breakouts) {
      expect(x.participantMs).toBeGreaterThanOrEqual(40 * MIN);
      expect(x.participantMs).toBeLessThan(40 * MIN + 2 * SLACK_MS);
    }
    const breakoutMicros = breakouts.reduce((a: number, x: any) => a + x.costMicros, 0);
    expect(Math.round(breakoutMicros / 10_000)).toBe(30);
    expect(report.totals.costCents).toBe(120);
    expect(report.totals.costUsd).toBe("1.20");
    expect(report.rooms.reduce((a: number, x: any) => a + x.costMicros, 0)).toBe(report.totals.costMicros);

    // Attendance: everyone, with their role and times, and the time they spent in each room.
    expect(report.attendance).toHaveLength(10);
    expect(report.attendance[0]).toMatchObject({ memberId: s.memberId, name: "Therapist", role: "facilitator", status: "left" });
    expect(report.attendance.slice(1).map((a: any) => a.name)).toEqual(Array.from({ length: 9 }, (_, i) => `Client ${i + 1}`));
    for (const a of report.attendance) {
      expect(a.admittedAt).toBe(a.joinedAt);
      expect(a.leftAt).toBe(report.session.endedAt);
      expect(Object.keys(a.timeByRoomMs).sort()).toEqual(["main", locations[a.memberId]].sort());
      expect(a.timeByRoomMs.main).toBeGreaterThanOrEqual(60 * MIN);
      expect(a.timeByRoomMs.main).toBeLessThan(60 * MIN + SLACK_MS);
      expect(a.timeByRoomMs[locations[a.memberId]]).toBeGreaterThanOrEqual(20 * MIN);
      expect(a.timeByRoomMs[locations[a.memberId]]).toBeLessThan(20 * MIN + SLACK_MS);
    }

    // The CSV: one row per person, then the totals.
    const csv = await api(`/api/sessions/${s.sessionId}/report.csv`, { token: s.ticket });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    expect(csv.headers.get("content-disposition")).toBe(`attachment; filename="session-${s.sessionId}-report.csv"`);
    // Every cell is quoted (lib/cost.ts csvField); none of these cells holds a comma or a quote.
    const lines = (csv.json as string).trimEnd().split("\r\n");
    const cells = (line: string) => line.split(",").map((c) => c.replace(/^"|"$/g, ""));
    expect(lines).toHaveLength(12);
    expect(cells(lines[0]).slice(0, 8)).toEqual(["member_id", "name", "role", "status", "joined_at", "admitted_at", "left_at", "minutes_main"]);
    expect(lines[1].startsWith(`"${s.memberId}","Therapist","facilitator","left",`)).toBe(true);
    const total = cells(lines[11]);
    expect(total[0]).toBe("TOTAL");
    expect(total.at(-1)).toBe("1.20");
    expect(Number(total[7])).toBeGreaterThanOrEqual(600);
    expect(Number(total[7])).toBeLessThan(601);
  });

  it("lets staff, the session's creator and operators read it; nobody else", async () => {
    const s = await createSession({ settings: { autoAdmit: true } });
    const p = await joinSession(s.sessionId, s.invite.token, "Client");
    const other = await createSession();
    const operator = await signIn("Olga", "operator");
    const stranger = await signIn("Fay", "facilitator");
    const co = await api(`/api/sessions/${s.sessionId}/invites`, { token: s.ticket, body: { role: "cofacilitator" } });
    const coMember = await joinSession(s.sessionId, co.json.token, "Cora");

    const get = (token?: string, path = "report") => api(`/api/sessions/${s.sessionId}/${path}`, { token });
    expect((await get(s.ticket)).status).toBe(200);
    expect((await get(coMember.ticket)).status).toBe(200);
    expect((await get(s.userToken)).status).toBe(200); // the creator's own sign-in
    const op = await get(operator);
    expect(op.status).toBe(200);
    expect(op.json.attendance.map((a: any) => a.role)).toEqual(["facilitator", "participant", "cofacilitator"]);
    for (const path of ["report", "report.csv", "cost"]) {
      const denied = await get(p.ticket, path);
      expect(denied.status).toBe(403);
      expect(denied.json.error.code).toBe("FORBIDDEN");
      expect((await get(stranger, path)).status).toBe(403);
      expect((await get(undefined, path)).status).toBe(401);
      const wrong = await get(other.ticket, path);
      expect([wrong.status, wrong.json.error.code]).toEqual([403, "WRONG_SESSION"]);
      expect((await get("not-a-token", path)).status).toBe(401);
    }
    // A removed co-facilitator's ticket no longer opens the report.
    await command(s, { type: "removeMember", memberId: coMember.memberId });
    expect((await get(coMember.ticket)).status).toBe(403);
    // Unknown sessions are 404 for operators.
    const missing = await api(`/api/sessions/nosuchsession0000/report`, { token: operator });
    expect([missing.status, missing.json.error.code]).toEqual([404, "NOT_FOUND"]);
  });

  it("counts waiting-room time as free and follows a member across rooms", async () => {
    const s = await createSession({ settings: { autoAdmit: false } });
    const a = await joinSession(s.sessionId, s.invite.token, "Ann");
    const b = await joinSession(s.sessionId, s.invite.token, "Ben");
    const stub = stubFor(s.sessionId);
    await stub.advanceClock(10 * MIN); // both wait 10 minutes: no media, no cost
    await command(s, { type: "admit", memberId: a.memberId });
    await command(s, { type: "admit", memberId: b.memberId });
    await command(s, { type: "createBreakouts", count: 2, mode: "manual" });
    await command(s, { type: "assign", memberId: a.memberId, roomId: "r1" });
    await command(s, { type: "assign", memberId: b.memberId, roomId: "r2" });
    await command(s, { type: "openBreakouts" });
    await stub.advanceClock(5 * MIN);
    await command(s, { type: "move", memberId: a.memberId, to: "r2" });
    await stub.advanceClock(5 * MIN);
    await command(s, { type: "endSession" });

    const r = await api(`/api/sessions/${s.sessionId}/report`, { token: s.ticket });
    expect(r.status).toBe(200);
    const ann = r.json.attendance.find((x: any) => x.memberId === a.memberId);
    expect(ann.admittedAt - ann.joinedAt).toBeGreaterThanOrEqual(10 * MIN);
    expect(Object.keys(ann.timeByRoomMs).sort()).toEqual(["main", "r1", "r2"].filter((k) => k !== "main" || ann.timeByRoomMs.main > 0).sort());
    expect(ann.timeByRoomMs.r1).toBeGreaterThanOrEqual(5 * MIN);
    expect(ann.timeByRoomMs.r1).toBeLessThan(5 * MIN + SLACK_MS);
    expect(ann.timeByRoomMs.r2).toBeGreaterThanOrEqual(5 * MIN);
    expect(ann.timeByRoomMs.r2).toBeLessThan(5 * MIN + SLACK_MS);
    // 3 people (facilitator in main for 20 min; Ann and Ben 10 min each in rooms): 40 participant-minutes = $0.06.
    expect(r.json.totals.participantMs).toBeGreaterThanOrEqual(40 * MIN);
    expect(r.json.totals.participantMs).toBeLessThan(40 * MIN + 3 * SLACK_MS);
    expect(r.json.totals.costUsd).toBe("0.06");
    const r2 = r.json.rooms.find((x: any) => x.key === "r2");
    expect(r2.people).toBe(2);
  });
});
