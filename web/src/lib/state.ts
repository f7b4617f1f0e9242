/**
 * Pure state helpers for the web client: applying staff patches, cost estimate, grouping, time formatting.
 * No DOM, no Solid: the functions mutate plain objects (or Solid `produce` drafts) and are unit-tested on Node.
 */
import { MAIN_ROOM, mediaRoomName, type Change, type MemberPublic, type RoomPublic, type StaffState } from "../../../lib/protocol";

/** What the session costs per participant-minute of media (Twilio Group rooms list price). */
export const PRICE_PER_PARTICIPANT_MINUTE = 0.0015;

/**
 * Update the entry with the same key in place (so a Solid store keeps the same object, and a list rendered from it
 * keeps its elements: a drag in progress or the keyboard focus survives someone's quality report), or append it.
 */
function upsert<T extends object>(list: T[], value: T, key: (t: T) => string): void {
  const k = key(value);
  const i = list.findIndex((x) => key(x) === k);
  if (i >= 0) Object.assign(list[i], value);
  else list.push(value);
}

/**
 * Apply a staff patch in place: members, rooms and media rooms are upserted by id (key for media), updating the
 * existing object field by field; the round, the session, the spotlights, the running check-ins and the plan are
 * replaced. Works on a plain object and on a Solid
 * `produce` draft.
 */
export function applyChanges(staff: StaffState, changes: readonly Change[]): void {
  for (const c of changes) {
    switch (c.entity) {
      case "member":
        upsert(staff.members, c.value, (m) => m.id);
        break;
      case "room":
        upsert(staff.rooms, c.value, (r) => r.id);
        break;
      case "media":
        upsert(staff.media, c.value, (m) => m.key);
        break;
      case "round":
        staff.round = c.value;
        break;
      case "session":
        staff.session = c.value;
        break;
      case "spotlights":
        staff.spotlights = c.value;
        break;
      case "checkIns":
        staff.checkIns = c.value;
        break;
      case "plan":
        staff.plan = c.value;
        break;
      case "pairRules":
        staff.pairRules = c.value;
        break;
      default:
        // Every Change entity is handled above: a new one added to the protocol fails to compile here.
        c satisfies never;
    }
  }
}

/**
 * Estimated media cost so far: participant-minutes × price. A member counts from when they were admitted
 * (joinedAt when the server has no admittedAt) until they left, or until now. Waiting and denied people have no
 * media and do not count. Client-side estimate only; the bill is Twilio's.
 */
export function estimateCost(
  members: readonly Pick<MemberPublic, "status" | "joinedAt" | "admittedAt" | "leftAt">[],
  now: number,
  pricePerMinute = PRICE_PER_PARTICIPANT_MINUTE,
): { participantMinutes: number; dollars: number } {
  let ms = 0;
  for (const m of members) {
    if (m.status === "waiting" || m.status === "denied") continue;
    if (m.status === "left" && m.admittedAt === null) continue; // left from the waiting room
    const start = m.admittedAt ?? m.joinedAt;
    const end = m.leftAt ?? now;
    if (end > start) ms += end - start;
  }
  const participantMinutes = ms / 60_000;
  return { participantMinutes, dollars: participantMinutes * pricePerMinute };
}

export function formatDollars(d: number): string {
  return d < 10 ? `$${d.toFixed(3)}` : `$${d.toFixed(2)}`;
}

/** "4:05" for 245 s; "1:02:03" past an hour. Negative durations read as 0:00. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** A member's media arrival: are they connected to the media room of the place they belong to? */
export function hasArrived(sessionId: string, m: Pick<MemberPublic, "location" | "arrivedIn">): boolean {
  return m.location !== null && m.arrivedIn === mediaRoomName(sessionId, m.location);
}

/** A private check-in's place ("k<n>"; breakout rooms are "r<n>"). */
export const isCheckInPlace = (location: string | null): boolean => location !== null && /^k\d+$/.test(location);

export function placeLabel(rooms: readonly RoomPublic[], location: string | null): string {
  if (location === null) return "—";
  if (location === MAIN_ROOM) return "Main room";
  if (isCheckInPlace(location)) return "Private check-in";
  return rooms.find((r) => r.id === location)?.name ?? location;
}

/**
 * Columns for the facilitator's board. Preparing: where each admitted person is planned (round.plan) with an
 * "Unassigned" column; open/closing: where each person is now, with the main room first.
 */
export interface BoardColumn {
  /** "main", a room id, or "unassigned" while preparing. */
  key: string;
  roomId: string | null;
  title: string;
  room: RoomPublic | null;
  members: MemberPublic[];
}

export const UNASSIGNED = "unassigned";

export function boardColumns(staff: StaffState): BoardColumn[] {
  const phase = staff.session.phase;
  const admitted = staff.members.filter((m) => m.status === "admitted");
  const byName = (a: MemberPublic, b: MemberPublic) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  if (phase === "preparing" && staff.round) {
    const plan = staff.round.plan;
    const rooms = staff.rooms.filter((r) => r.status === "preparing");
    const cols: BoardColumn[] = [
      {
        key: UNASSIGNED,
        roomId: null,
        title: "Unassigned",
        room: null,
        members: admitted.filter((m) => !plan[m.id] || !rooms.some((r) => r.id === plan[m.id])).sort(byName),
      },
    ];
    for (const r of rooms) cols.push({ key: r.id, roomId: r.id, title: r.name, room: r, members: admitted.filter((m) => plan[m.id] === r.id).sort(byName) });
    return cols;
  }
  const cols: BoardColumn[] = [
    { key: MAIN_ROOM, roomId: null, title: "Main room", room: null, members: admitted.filter((m) => m.location === MAIN_ROOM).sort(byName) },
  ];
  for (const r of staff.rooms.filter((r) => r.status === "open"))
    cols.push({ key: r.id, roomId: r.id, title: r.name, room: r, members: admitted.filter((m) => m.location === r.id).sort(byName) });
  return cols;
}
