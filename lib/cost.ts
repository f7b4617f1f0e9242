/**
 * Session reports and media cost estimates. Pure: rows in (as D1 holds them), numbers out; no clock, no I/O.
 *
 * Cost model (docs/monitoring.md "Cost model"):
 * - A participant-minute is billed in the media room the participant is placed in: the main room or one breakout
 *   room, one at a time (the product grants exactly one room at a time). Time comes from the stays in
 *   `breakout_room_participants` (joined_at .. left_at); a stay still open ends at `asOf` (the session's end, or now
 *   while it runs). Waiting-room time has no media and costs nothing.
 * - Money is integer micro-dollars (1 USD = 1,000,000 µ$); the price is integer nano-dollars per participant-minute
 *   (0.0015 USD → 1,500,000 n$), parsed from its decimal string so no float ever touches money.
 * - Each media room's cost is its participant-milliseconds × price, rounded half-up to a micro-dollar once, per room.
 *   The session total is the sum of the rooms' costs, so the per-room figures always add up to the total exactly.
 *
 * The guide's example ("60-minute session with 10 participants: $0.90; 5 breakout rooms of 2 for 20 minutes: $0.30;
 * total $1.20") is reproduced by 600 participant-minutes in the main room plus, on top, 200 participant-minutes in the
 * breakout rooms: the group spends 60 minutes together in the main room and 20 minutes in breakout rooms.
 */

export const DEFAULT_PRICE_PER_PARTICIPANT_MINUTE = "0.0015";
export const MS_PER_MINUTE = 60_000;
export const MAIN_ROOM_KEY = "main";

// ---------------------------------------------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------------------------------------------

/**
 * "0.0015" (USD per participant-minute) → 1_500_000 nano-dollars. Accepts a plain decimal with up to 9 fractional
 * digits; anything else (empty, negative, exponent, garbage) gives null.
 */
export function parsePriceNanos(price: string | number | null | undefined): number | null {
  if (price === null || price === undefined) return null;
  const text = typeof price === "number" ? (Number.isFinite(price) && price >= 0 ? price.toFixed(9) : "") : price.trim();
  const m = /^(\d{1,6})(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) return null;
  const whole = Number(m[1]);
  const frac = Number((m[2] ?? "").padEnd(9, "0"));
  return whole * 1_000_000_000 + frac;
}

/** The configured price, or the default when unset or invalid. */
export function priceNanosFrom(setting: string | null | undefined): number {
  return parsePriceNanos(setting ?? null) ?? parsePriceNanos(DEFAULT_PRICE_PER_PARTICIPANT_MINUTE)!;
}

/** round-half-up(a / b) for non-negative bigints. */
function divRound(a: bigint, b: bigint): bigint {
  return (a * 2n + b) / (2n * b);
}

/** Micro-dollars for `participantMs` at `priceNanos` per participant-minute, rounded half-up. Exact (bigint inside). */
export function costMicros(participantMs: number, priceNanos: number): number {
  if (!(participantMs > 0) || !(priceNanos > 0)) return 0;
  const ms = BigInt(Math.round(participantMs));
  // µ$ = ms / 60_000 [min] × priceNanos [n$/min] / 1_000 [n$/µ$]
  return Number(divRound(ms * BigInt(Math.round(priceNanos)), 60_000_000n));
}

/** Whole cents from micro-dollars, rounded half-up (display only; sums are done in micro-dollars). */
export function microsToCents(micros: number): number {
  return Number(divRound(BigInt(Math.max(0, Math.round(micros))), 10_000n));
}

/** "1.20" from 1_200_000 µ$ (cents, rounded half-up). */
export function formatUsd(micros: number): string {
  const cents = microsToCents(micros);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
}

/** "1.200000" from 1_200_000 µ$ (exact). */
export function formatUsdMicros(micros: number): string {
  const m = Math.max(0, Math.round(micros));
  return `${Math.floor(m / 1_000_000)}.${String(m % 1_000_000).padStart(6, "0")}`;
}

/** "0.0015" from 1_500_000 n$. */
export function formatPriceNanos(nanos: number): string {
  const whole = Math.floor(nanos / 1_000_000_000);
  const frac = String(nanos % 1_000_000_000)
    .padStart(9, "0")
    .replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : String(whole);
}

// ---------------------------------------------------------------------------------------------------------------
// Rows (column names as in migrations/0001_init.sql)
// ---------------------------------------------------------------------------------------------------------------

export interface SessionRow {
  id: string;
  title: string;
  phase: string;
  media_provider: string;
  created_at: number;
  ended_at: number | null;
  rounds_completed: number;
  /** JSON text as stored, or already parsed. */
  settings: string | Record<string, unknown> | null;
}

export interface MemberRow {
  member_id: string;
  display_name: string;
  role: string;
  status: string;
  joined_at: number;
  admitted_at: number | null;
  left_at: number | null;
}

export interface RoomRow {
  room_id: string;
  name: string;
  round: number;
  status: string;
  capacity: number;
  opened_at: number | null;
  closed_at: number | null;
}

export interface StayRow {
  member_id: string;
  /** "main" or a breakout room id. */
  location: string;
  joined_at: number;
  left_at: number | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Stays → time per member per room
// ---------------------------------------------------------------------------------------------------------------

/** Milliseconds of one stay, ending at `asOf` when still open; never negative, never past `asOf`. */
export function stayMs(stay: Pick<StayRow, "joined_at" | "left_at">, asOf: number): number {
  const end = Math.min(stay.left_at ?? asOf, asOf);
  return Math.max(0, end - stay.joined_at);
}

export interface RoomUsage {
  /** "main" or a breakout room id. */
  key: string;
  name: string;
  round: number | null;
  status: string;
  openedAt: number | null;
  closedAt: number | null;
  participantMs: number;
  participantMinutes: number;
  /** Distinct members who spent any time there. */
  people: number;
  costMicros: number;
  costUsd: string;
}

export interface CostTotals {
  participantMs: number;
  participantMinutes: number;
  costMicros: number;
  costCents: number;
  costUsd: string;
}

export interface CostBreakdown {
  asOf: number;
  priceNanosPerMinute: number;
  rooms: RoomUsage[];
  /** memberId → location → ms */
  byMember: Record<string, Record<string, number>>;
  totals: CostTotals;
}

const minutes = (ms: number) => Math.round((ms / MS_PER_MINUTE) * 1000) / 1000;

/** Time per member per place and participant-minutes and cost per media room (main first, then rooms by id order). */
export function costBreakdown(input: { stays: readonly StayRow[]; rooms: readonly RoomRow[]; asOf: number; priceNanos: number }): CostBreakdown {
  const { stays, rooms, asOf, priceNanos } = input;
  const byMember: Record<string, Record<string, number>> = {};
  const perRoom = new Map<string, { ms: number; people: Set<string> }>();
  perRoom.set(MAIN_ROOM_KEY, { ms: 0, people: new Set() });
  const sortedRooms = [...rooms].sort((a, b) => a.round - b.round || roomOrder(a.room_id, b.room_id));
  for (const r of sortedRooms) perRoom.set(r.room_id, { ms: 0, people: new Set() });
  for (const s of stays) {
    const ms = stayMs(s, asOf);
    const slot = perRoom.get(s.location) ?? perRoom.set(s.location, { ms: 0, people: new Set() }).get(s.location)!;
    slot.ms += ms;
    if (ms > 0) slot.people.add(s.member_id);
    const mine = (byMember[s.member_id] ??= {});
    mine[s.location] = (mine[s.location] ?? 0) + ms;
  }
  const roomById = new Map(rooms.map((r) => [r.room_id, r]));
  const usage: RoomUsage[] = [];
  for (const [key, slot] of perRoom) {
    const r = roomById.get(key);
    const micros = costMicros(slot.ms, priceNanos);
    usage.push({
      key,
      name: key === MAIN_ROOM_KEY ? "Main room" : (r?.name ?? key),
      round: key === MAIN_ROOM_KEY ? null : (r?.round ?? null),
      status: key === MAIN_ROOM_KEY ? "main" : (r?.status ?? "unknown"),
      openedAt: r?.opened_at ?? null,
      closedAt: r?.closed_at ?? null,
      participantMs: slot.ms,
      participantMinutes: minutes(slot.ms),
      people: slot.people.size,
      costMicros: micros,
      costUsd: formatUsd(micros),
    });
  }
  return { asOf, priceNanosPerMinute: priceNanos, rooms: usage, byMember, totals: totalsOf(usage) };
}

export function totalsOf(rooms: readonly Pick<RoomUsage, "participantMs" | "costMicros">[]): CostTotals {
  let ms = 0;
  let micros = 0;
  for (const r of rooms) {
    ms += r.participantMs;
    micros += r.costMicros;
  }
  return { participantMs: ms, participantMinutes: minutes(ms), costMicros: micros, costCents: microsToCents(micros), costUsd: formatUsd(micros) };
}

/** r2 before r10. */
function roomOrder(a: string, b: string): number {
  const na = /^r(\d+)$/.exec(a);
  const nb = /^r(\d+)$/.exec(b);
  if (na && nb) return Number(na[1]) - Number(nb[1]);
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Cost controls and the live estimate
// ---------------------------------------------------------------------------------------------------------------

export interface CostControls {
  /** The session ends by itself after this long; null = no limit. */
  maxSessionSeconds: number | null;
  maxParticipantsPerRoom: number | null;
  /** An open breakout room empty this long closes itself. */
  emptyRoomTimeoutSeconds: number | null;
  /** When the duration limit ends the session (epoch ms), or null. */
  endsAt: number | null;
}

export function parseSettings(settings: SessionRow["settings"]): Record<string, unknown> {
  if (settings === null || settings === undefined) return {};
  if (typeof settings === "object") return settings;
  try {
    const v = JSON.parse(settings) as unknown;
    return v && typeof v === "object" ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function costControls(session: Pick<SessionRow, "created_at" | "settings">): CostControls {
  const s = parseSettings(session.settings);
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const max = n(s.maxSessionSeconds);
  return {
    maxSessionSeconds: max,
    maxParticipantsPerRoom: n(s.maxParticipantsPerRoom),
    emptyRoomTimeoutSeconds: n(s.emptyRoomTimeoutSeconds),
    endsAt: max !== null ? session.created_at + max * 1000 : null,
  };
}

export interface LiveEstimate {
  /** True while the session runs. */
  live: boolean;
  asOf: number;
  /** People placed in a media room now. */
  placedNow: number;
  /** Participant-ms per minute now (= people placed × 60,000), the current burn rate. */
  costMicrosPerMinuteNow: number;
  /** So far, plus everyone placed now staying until the duration limit; null without a limit. */
  projectedAtLimitMicros: number | null;
  projectedAtLimitUsd: string | null;
}

/** The burn rate now and the worst case at the duration limit, if everyone now placed stays until it. */
export function liveEstimate(input: {
  stays: readonly StayRow[];
  live: boolean;
  asOf: number;
  priceNanos: number;
  totals: CostTotals;
  controls: CostControls;
}): LiveEstimate {
  const { stays, live, asOf, priceNanos, totals, controls } = input;
  const placed = live ? new Set(stays.filter((s) => s.left_at === null && s.joined_at <= asOf).map((s) => s.member_id)).size : 0;
  const perMinute = costMicros(placed * MS_PER_MINUTE, priceNanos);
  let projected: number | null = null;
  if (!live) projected = totals.costMicros;
  else if (controls.endsAt !== null) projected = totals.costMicros + costMicros(placed * Math.max(0, controls.endsAt - asOf), priceNanos);
  return {
    live,
    asOf,
    placedNow: placed,
    costMicrosPerMinuteNow: perMinute,
    projectedAtLimitMicros: projected,
    projectedAtLimitUsd: projected === null ? null : formatUsd(projected),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------------------------

export interface AttendanceEntry {
  memberId: string;
  name: string;
  role: string;
  status: string;
  joinedAt: number;
  admittedAt: number | null;
  leftAt: number | null;
  /** location → ms ("main" and breakout room ids), only places where they spent time. */
  timeByRoomMs: Record<string, number>;
  totalMs: number;
  totalMinutes: number;
}

/** A session as D1 records it: the facilitator's session list (GET /api/sessions) and the head of its report. */
export interface SessionRecord {
  id: string;
  title: string;
  phase: string;
  mediaProvider: string;
  createdAt: number;
  endedAt: number | null;
  roundsCompleted: number;
}

export interface SessionReport {
  session: SessionRecord & { durationMs: number };
  asOf: number;
  price: { perParticipantMinuteUsd: string; nanosPerParticipantMinute: number };
  /** The estimate is what Twilio Group rooms would bill; only sessions with the "twilio" provider are billed. */
  billedByTwilio: boolean;
  costControls: CostControls;
  attendance: AttendanceEntry[];
  rooms: RoomUsage[];
  totals: CostTotals;
  estimate: LiveEstimate;
}

export function buildReport(input: {
  session: SessionRow;
  members: readonly MemberRow[];
  rooms: readonly RoomRow[];
  stays: readonly StayRow[];
  /** The session clock now. */
  now: number;
  priceNanos: number;
}): SessionReport {
  const { session, members, rooms, stays, now, priceNanos } = input;
  const live = session.ended_at === null;
  // Open stays end at the session's end, or now while it runs.
  const asOf = session.ended_at ?? Math.max(now, session.created_at);
  const breakdown = costBreakdown({ stays, rooms, asOf, priceNanos });
  const controls = costControls(session);
  const attendance: AttendanceEntry[] = [...members]
    .sort((a, b) => a.joined_at - b.joined_at || memberOrder(a.member_id, b.member_id))
    .map((m) => {
      const t = breakdown.byMember[m.member_id] ?? {};
      const timeByRoomMs: Record<string, number> = {};
      let total = 0;
      for (const [k, v] of Object.entries(t)) {
        if (v <= 0) continue;
        timeByRoomMs[k] = v;
        total += v;
      }
      return {
        memberId: m.member_id,
        name: m.display_name,
        role: m.role,
        status: m.status,
        joinedAt: m.joined_at,
        admittedAt: m.admitted_at,
        leftAt: m.left_at,
        timeByRoomMs,
        totalMs: total,
        totalMinutes: minutes(total),
      };
    });
  return {
    session: {
      id: session.id,
      title: session.title,
      phase: session.phase,
      mediaProvider: session.media_provider,
      createdAt: session.created_at,
      endedAt: session.ended_at,
      durationMs: Math.max(0, asOf - session.created_at),
      roundsCompleted: session.rounds_completed,
    },
    asOf,
    price: { perParticipantMinuteUsd: formatPriceNanos(priceNanos), nanosPerParticipantMinute: priceNanos },
    billedByTwilio: session.media_provider === "twilio",
    costControls: controls,
    attendance,
    rooms: breakdown.rooms,
    totals: breakdown.totals,
    estimate: liveEstimate({ stays, live, asOf, priceNanos, totals: breakdown.totals, controls }),
  };
}

function memberOrder(a: string, b: string): number {
  const na = /^m(\d+)$/.exec(a);
  const nb = /^m(\d+)$/.exec(b);
  if (na && nb) return Number(na[1]) - Number(nb[1]);
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------------------------

/**
 * A cell that a spreadsheet would run as a formula: it starts with = + - @ (or their full-width forms, which some
 * locales accept), possibly after blanks that a spreadsheet trims, or with a tab or carriage return (OWASP "CSV
 * injection").
 */
const FORMULA_START = /^(?:[\t\r\n]|[\s\u00a0\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20])/;

/**
 * One CSV field. Every field is quoted, so no separator inside a value splits it into cells whatever separator the
 * reader's locale uses (`,` or `;`), and a text value that would start a formula gets a leading `'` (inside the
 * quotes) so it is shown, never run. Numbers are written as they are: they are ours, never someone's text.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '""';
  let s = String(value);
  if (typeof value === "string" && FORMULA_START.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

const iso = (t: number | null) => (t === null ? "" : new Date(t).toISOString());
const mins = (ms: number) => (ms / MS_PER_MINUTE).toFixed(3);

/**
 * The report as one rectangular CSV table: one row per member (attendance + minutes in each media room), then a
 * TOTAL row with each room's participant-minutes and the estimated cost. Minutes have 3 decimals; money is USD.
 */
export function reportCsv(report: SessionReport): string {
  const keys = report.rooms.map((r) => r.key);
  const header = [
    "member_id",
    "name",
    "role",
    "status",
    "joined_at",
    "admitted_at",
    "left_at",
    ...report.rooms.map((r) => `minutes_${r.key}${r.key === MAIN_ROOM_KEY ? "" : ` (${r.name})`}`),
    "total_minutes",
    "estimated_cost_usd",
  ];
  const lines = [header.map(csvField).join(",")];
  for (const a of report.attendance) {
    lines.push(
      [
        a.memberId,
        a.name,
        a.role,
        a.status,
        iso(a.joinedAt),
        iso(a.admittedAt),
        iso(a.leftAt),
        ...keys.map((k) => mins(a.timeByRoomMs[k] ?? 0)),
        mins(a.totalMs),
        formatUsd(costMicros(a.totalMs, report.price.nanosPerParticipantMinute)),
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
      iso(report.session.createdAt),
      "",
      iso(report.session.endedAt),
      ...report.rooms.map((r) => mins(r.participantMs)),
      mins(report.totals.participantMs),
      report.totals.costUsd,
    ]
      .map(csvField)
      .join(","),
  );
  return lines.join("\r\n") + "\r\n";
}
