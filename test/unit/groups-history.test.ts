/**
 * lib/groups.ts buildGroupHistory: one row per person across a group's sessions (by identity, not by the member id each
 * session gave them), minutes from each session's report, staff and people who never got in left out.
 */
import { describe, expect, it } from "vitest";
import { buildReport, type MemberRow, type SessionRow, type StayRow } from "../../lib/cost";
import { buildGroupHistory } from "../../lib/groups";

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 1, 18, 0, 0);

function week(id: string, start: number, people: { memberId: string; role?: string; minutes: number }[]) {
  const session: SessionRow = {
    id,
    title: `Week ${id}`,
    phase: "ended",
    media_provider: "local",
    created_at: start,
    ended_at: start + 60 * MIN,
    rounds_completed: 0,
    settings: null,
  };
  const members: MemberRow[] = people.map((p) => ({
    member_id: p.memberId,
    display_name: p.memberId,
    role: p.role ?? "participant",
    status: p.minutes > 0 ? "left" : "waiting",
    joined_at: start,
    admitted_at: p.minutes > 0 ? start : null,
    left_at: p.minutes > 0 ? start + p.minutes * MIN : null,
  }));
  const stays: StayRow[] = people
    .filter((p) => p.minutes > 0)
    .map((p) => ({ member_id: p.memberId, location: "main", joined_at: start, left_at: start + p.minutes * MIN }));
  return buildReport({ session, members, rooms: [], stays, now: start + 60 * MIN, priceNanos: 0 });
}

describe("group attendance history", () => {
  it("follows one identity across sessions, leaves out staff and the never-admitted, and counts who came", () => {
    const w1 = week("s1", T0, [
      { memberId: "m1", minutes: 50 },
      { memberId: "m2", minutes: 40 },
      { memberId: "f", role: "facilitator", minutes: 60 },
    ]);
    const w2 = week("s2", T0 + 7 * 24 * 60 * MIN, [
      { memberId: "m1", minutes: 0 }, // waited, never let in
      { memberId: "m7", minutes: 55 }, // Ana again, another member id this week
    ]);
    const history = buildGroupHistory({
      sessions: [
        { sessionId: "s2", startedAt: T0 + 7 * 24 * 60 * MIN, report: w2 },
        { sessionId: "s1", startedAt: T0, report: w1 },
        { sessionId: "s0", startedAt: T0 - 1, report: null },
      ],
      members: [
        { identity: "guest:ana", display_name: "Ana", first_seen_at: T0, last_seen_at: T0 + 7 * 24 * 60 * MIN },
        { identity: "guest:ben", display_name: "Ben", first_seen_at: T0, last_seen_at: T0 + 7 * 24 * 60 * MIN + 1 },
      ],
      participants: [
        { session_id: "s1", member_id: "m1", identity: "guest:ana" },
        { session_id: "s1", member_id: "m2", identity: "guest:ben" },
        { session_id: "s1", member_id: "f", identity: "user:therapist" },
        { session_id: "s2", member_id: "m1", identity: "guest:ben" },
        { session_id: "s2", member_id: "m7", identity: "guest:ana" },
      ],
    });
    expect(history.sessions.map((s) => [s.sessionId, s.attended, s.endedAt !== null])).toEqual([
      ["s2", 1, true],
      ["s1", 2, true],
      ["s0", 0, false],
    ]);
    // Ben was seen last (he came to the door in week 2), so he is first; he attended one session.
    expect(history.members.map((m) => [m.name, m.sessionsAttended, m.minutes])).toEqual([
      ["Ben", 1, { s1: 40 }],
      ["Ana", 2, { s2: 55, s1: 50 }],
    ]);
  });
});
