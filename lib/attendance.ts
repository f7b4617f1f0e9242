/**
 * The attendance record of a session: for each member, when they were admitted and left, the minutes they spent in
 * each room, how much of that time staff were in the same room, and the help and check-in requests they made.
 * Pure: D1 rows in, numbers out; no clock, no I/O.
 *
 * Time comes from the same stays (`breakout_room_participants`) and the same end (`asOf`) as the cost report
 * (lib/cost.ts buildReport): the attendance of every member added up is the report's participant-minutes, room by
 * room, to the millisecond.
 */
import { type AttendanceEntry, csvField, MAIN_ROOM_KEY, MS_PER_MINUTE, type SessionReport, type StayRow, stayMs } from "./cost";

/**
 * Analytics events (session_analytics_events.event, actor = the member) counted as requests. help_requested is written
 * when a participant asks for help; checkin_requested when a participant asks staff for a private check-in.
 */
export const REQUEST_EVENTS = { help: "help_requested", checkIn: "checkin_requested" } as const;

export interface RequestEventRow {
  event: string;
  /** The member who made the request. */
  actor: string | null;
  at: number;
}

export interface AttendanceRoom {
  /** "main" or a breakout room id. */
  key: string;
  name: string;
  ms: number;
  minutes: number;
  /** Of `ms`, the time at least one facilitator or co-facilitator was in the same room. */
  staffPresentMs: number;
  staffPresent: boolean;
}

export interface AttendanceRecordEntry {
  memberId: string;
  name: string;
  role: string;
  isStaff: boolean;
  status: string;
  joinedAt: number;
  admittedAt: number | null;
  leftAt: number | null;
  /** Rooms where they spent time, in the report's room order. */
  rooms: AttendanceRoom[];
  totalMs: number;
  totalMinutes: number;
  helpRequests: number;
  checkInRequests: number;
}

export interface AttendanceRecord {
  session: SessionReport["session"];
  asOf: number;
  /** The report's rooms, in its order (main first): the CSV's columns. */
  rooms: { key: string; name: string }[];
  /** Clients (participants) first, then staff; each group in joining order. */
  members: AttendanceRecordEntry[];
  totals: {
    /** Equal to the cost report's totals.participantMs. */
    participantMs: number;
    participantMinutes: number;
    /** location → ms, equal to the cost report's room participantMs. */
    byRoomMs: Record<string, number>;
    helpRequests: number;
    checkInRequests: number;
  };
}

const minutes = (ms: number) => Math.round((ms / MS_PER_MINUTE) * 1000) / 1000;
const isStaffRole = (role: string) => role === "facilitator" || role === "cofacilitator";

/** Milliseconds of [from, to) covered by a union of intervals (sorted, merged here). */
function coveredMs(from: number, to: number, intervals: readonly [number, number][]): number {
  let covered = 0;
  let cursor = from;
  for (const [a, b] of intervals) {
    const start = Math.max(a, cursor);
    const end = Math.min(b, to);
    if (end > start) {
      covered += end - start;
      cursor = end;
    }
    if (cursor >= to) break;
  }
  return covered;
}

/** Staff time per room as merged, sorted intervals ending at `asOf`. */
function staffIntervals(stays: readonly StayRow[], staffIds: ReadonlySet<string>, asOf: number): Map<string, [number, number][]> {
  const raw = new Map<string, [number, number][]>();
  for (const s of stays) {
    if (!staffIds.has(s.member_id)) continue;
    const end = Math.min(s.left_at ?? asOf, asOf);
    if (end <= s.joined_at) continue;
    const list = raw.get(s.location) ?? raw.set(s.location, []).get(s.location)!;
    list.push([s.joined_at, end]);
  }
  for (const [key, list] of raw) {
    list.sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    for (const iv of list) {
      const last = merged[merged.length - 1];
      if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
      else merged.push([iv[0], iv[1]]);
    }
    raw.set(key, merged);
  }
  return raw;
}

/**
 * The attendance record from the cost report (which fixes members, rooms and `asOf`), the same stays it was computed
 * from, and the request events.
 */
export function buildAttendance(input: { report: SessionReport; stays: readonly StayRow[]; requests: readonly RequestEventRow[] }): AttendanceRecord {
  const { report, stays, requests } = input;
  const asOf = report.asOf;
  const roomName = new Map(report.rooms.map((r) => [r.key, r.name]));
  const order = new Map(report.rooms.map((r, i) => [r.key, i]));
  const staffIds = new Set(report.attendance.filter((a) => isStaffRole(a.role)).map((a) => a.memberId));
  const staffIn = staffIntervals(stays, staffIds, asOf);

  // Per member and room: time there, and of it, time with staff there too (a staff member is never "with staff"
  // because of themselves: their own stays are left out).
  const perMember = new Map<string, Map<string, { ms: number; staffMs: number }>>();
  for (const s of stays) {
    const ms = stayMs(s, asOf);
    const mine = perMember.get(s.member_id) ?? perMember.set(s.member_id, new Map()).get(s.member_id)!;
    const slot = mine.get(s.location) ?? mine.set(s.location, { ms: 0, staffMs: 0 }).get(s.location)!;
    slot.ms += ms;
    if (ms <= 0) continue;
    const end = s.joined_at + ms;
    const others = staffIds.has(s.member_id)
      ? staffIntervals(
          stays.filter((x) => x.location === s.location && x.member_id !== s.member_id),
          staffIds,
          asOf,
        ).get(s.location)
      : staffIn.get(s.location);
    slot.staffMs += others ? coveredMs(s.joined_at, end, others) : 0;
  }

  const counts = new Map<string, { help: number; checkIn: number }>();
  for (const r of requests) {
    if (!r.actor) continue;
    const c = counts.get(r.actor) ?? counts.set(r.actor, { help: 0, checkIn: 0 }).get(r.actor)!;
    if (r.event === REQUEST_EVENTS.help) c.help++;
    else if (r.event === REQUEST_EVENTS.checkIn) c.checkIn++;
  }

  const entry = (a: AttendanceEntry): AttendanceRecordEntry => {
    const mine = perMember.get(a.memberId) ?? new Map<string, { ms: number; staffMs: number }>();
    const rooms: AttendanceRoom[] = [...mine]
      .filter(([, v]) => v.ms > 0)
      .sort(([x], [y]) => (order.get(x) ?? Number.MAX_SAFE_INTEGER) - (order.get(y) ?? Number.MAX_SAFE_INTEGER))
      .map(([key, v]) => ({
        key,
        name: /^k\d+$/.test(key) ? "Private check-in" : (roomName.get(key) ?? key),
        ms: v.ms,
        minutes: minutes(v.ms),
        staffPresentMs: v.staffMs,
        staffPresent: v.staffMs > 0,
      }));
    const totalMs = rooms.reduce((n, r) => n + r.ms, 0);
    const c = counts.get(a.memberId) ?? { help: 0, checkIn: 0 };
    return {
      memberId: a.memberId,
      name: a.name,
      role: a.role,
      isStaff: isStaffRole(a.role),
      status: a.status,
      joinedAt: a.joinedAt,
      admittedAt: a.admittedAt,
      leftAt: a.leftAt,
      rooms,
      totalMs,
      totalMinutes: minutes(totalMs),
      helpRequests: c.help,
      checkInRequests: c.checkIn,
    };
  };
  // report.attendance is in joining order; clients first keeps that order within each group.
  const members = [...report.attendance.filter((a) => !isStaffRole(a.role)), ...report.attendance.filter((a) => isStaffRole(a.role))].map(entry);

  const byRoomMs: Record<string, number> = {};
  for (const r of report.rooms) byRoomMs[r.key] = 0;
  let total = 0;
  for (const m of members)
    for (const r of m.rooms) {
      byRoomMs[r.key] = (byRoomMs[r.key] ?? 0) + r.ms;
      total += r.ms;
    }
  return {
    session: report.session,
    asOf,
    rooms: report.rooms.map((r) => ({ key: r.key, name: r.name })),
    members,
    totals: {
      participantMs: total,
      participantMinutes: minutes(total),
      byRoomMs,
      helpRequests: members.reduce((n, m) => n + m.helpRequests, 0),
      checkInRequests: members.reduce((n, m) => n + m.checkInRequests, 0),
    },
  };
}

const iso = (t: number | null) => (t === null ? "" : new Date(t).toISOString());
const mins = (ms: number) => (ms / MS_PER_MINUTE).toFixed(3);

/**
 * The attendance record as one CSV table (fields quoted and formula-safe by lib/cost.ts csvField): one row per member
 * with minutes and minutes with staff present per room, then a TOTAL row whose minutes are the report's
 * participant-minutes.
 */
export function attendanceCsv(record: AttendanceRecord): string {
  const label = (r: { key: string; name: string }) => (r.key === MAIN_ROOM_KEY ? "main" : `${r.key} (${r.name})`);
  const header = [
    "member_id",
    "name",
    "role",
    "status",
    "admitted_at",
    "left_at",
    ...record.rooms.flatMap((r) => [`minutes_${label(r)}`, `staff_present_minutes_${label(r)}`]),
    "total_minutes",
    "help_requests",
    "checkin_requests",
  ];
  const lines = [header.map(csvField).join(",")];
  for (const m of record.members) {
    const byKey = new Map(m.rooms.map((r) => [r.key, r]));
    lines.push(
      [
        m.memberId,
        m.name,
        m.role,
        m.status,
        iso(m.admittedAt),
        iso(m.leftAt),
        ...record.rooms.flatMap((r) => [mins(byKey.get(r.key)?.ms ?? 0), mins(byKey.get(r.key)?.staffPresentMs ?? 0)]),
        mins(m.totalMs),
        m.helpRequests,
        m.checkInRequests,
      ]
        .map(csvField)
        .join(","),
    );
  }
  lines.push(
    [
      "TOTAL",
      "",
      "",
      "",
      iso(record.session.createdAt),
      iso(record.session.endedAt),
      ...record.rooms.flatMap((r) => [mins(record.totals.byRoomMs[r.key] ?? 0), ""]),
      mins(record.totals.participantMs),
      record.totals.helpRequests,
      record.totals.checkInRequests,
    ]
      .map(csvField)
      .join(","),
  );
  return lines.join("\r\n") + "\r\n";
}
