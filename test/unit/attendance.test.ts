/** lib/attendance.ts: staff presence per room (overlapping staff counted once), requests, and sums equal to the cost report. */
import { describe, expect, it } from "vitest";
import { attendanceCsv, buildAttendance } from "../../lib/attendance";
import { buildReport, type MemberRow, type StayRow } from "../../lib/cost";

const MIN = 60_000;
const session = { id: "s1", title: "Group", phase: "ended", media_provider: "local", created_at: 0, ended_at: 60 * MIN, rounds_completed: 1, settings: "{}" };
const member = (id: string, role: string): MemberRow => ({
  member_id: id,
  display_name: id,
  role,
  status: "left",
  joined_at: 0,
  admitted_at: 0,
  left_at: 60 * MIN,
});
const members = [member("m1", "facilitator"), member("m2", "participant"), member("m3", "cofacilitator"), member("m4", "participant")];
const rooms = [{ room_id: "r1", name: "Room 1", round: 1, status: "closed", capacity: 5, opened_at: 10 * MIN, closed_at: 40 * MIN }];
const stays: StayRow[] = [
  { member_id: "m2", location: "main", joined_at: 0, left_at: 10 * MIN },
  { member_id: "m2", location: "r1", joined_at: 10 * MIN, left_at: 40 * MIN },
  { member_id: "m2", location: "main", joined_at: 40 * MIN, left_at: null },
  // Two staff in r1, overlapping 20–25: client m2 had staff for 15–30 (15 minutes), not 20.
  { member_id: "m1", location: "main", joined_at: 0, left_at: 15 * MIN },
  { member_id: "m1", location: "r1", joined_at: 15 * MIN, left_at: 25 * MIN },
  { member_id: "m1", location: "main", joined_at: 25 * MIN, left_at: null },
  { member_id: "m3", location: "r1", joined_at: 20 * MIN, left_at: 30 * MIN },
  { member_id: "m3", location: "main", joined_at: 30 * MIN, left_at: null },
  // m4 only in the main room, arriving after the facilitator had gone to r1 and leaving before they came back.
  { member_id: "m4", location: "main", joined_at: 16 * MIN, left_at: 24 * MIN },
];
const report = buildReport({ session, members, rooms, stays, now: 60 * MIN, priceNanos: 1_500_000 });
const record = buildAttendance({
  report,
  stays,
  requests: [
    { event: "help_requested", actor: "m2", at: 12 * MIN },
    { event: "help_requested", actor: "m2", at: 13 * MIN },
    { event: "checkin_requested", actor: "m4", at: 17 * MIN },
  ],
});
const get = (id: string) => record.members.find((m) => m.memberId === id)!;
const room = (id: string, key: string) => get(id).rooms.find((r) => r.key === key)!;

describe("attendance record", () => {
  it("staff presence is the union of staff time in the room, counted once", () => {
    expect(room("m2", "r1")).toMatchObject({ ms: 30 * MIN, staffPresentMs: 15 * MIN, staffPresent: true });
    expect(room("m2", "main")).toMatchObject({ ms: 30 * MIN, staffPresentMs: 10 * MIN + 20 * MIN });
    expect(room("m4", "main")).toMatchObject({ ms: 8 * MIN, staffPresentMs: 0, staffPresent: false });
  });

  it("a staff member's own time does not count as staff present; other staff does", () => {
    expect(room("m1", "r1")).toMatchObject({ ms: 10 * MIN, staffPresentMs: 5 * MIN });
    expect(room("m3", "r1")).toMatchObject({ ms: 10 * MIN, staffPresentMs: 5 * MIN });
  });

  it("clients first, then staff; requests per member", () => {
    expect(record.members.map((m) => m.memberId)).toEqual(["m2", "m4", "m1", "m3"]);
    expect(record.members.map((m) => [m.helpRequests, m.checkInRequests])).toEqual([
      [2, 0],
      [0, 1],
      [0, 0],
      [0, 0],
    ]);
    expect(record.totals).toMatchObject({ helpRequests: 2, checkInRequests: 1 });
  });

  it("sums equal the cost report's participant-minutes, in total and per room", () => {
    expect(record.totals.participantMs).toBe(report.totals.participantMs);
    for (const r of report.rooms) expect(record.totals.byRoomMs[r.key]).toBe(r.participantMs);
    const csv = attendanceCsv(record).trimEnd().split("\r\n");
    expect(csv.at(-1)).toContain(`"${(report.totals.participantMs / MIN).toFixed(3)}"`);
  });
});
