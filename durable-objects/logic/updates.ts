/**
 * Pure context updates used by the machine's named actions. Each takes a context and an event and returns a
 * new context; untouched members and rooms keep their identity so diffs stay cheap.
 */
import {
  MAIN_ROOM,
  MAX_CHAT_MESSAGES,
  MAX_ROOM_CAPACITY,
  type MediaKind,
  type MediaRoomPublic,
  type PairRule,
  rosterName,
  type Settings,
} from "../../lib/protocol";
import { autoAssign, smallestRoom } from "./assignment";
import {
  admittedMembers,
  checkInOf,
  memberByIdentity,
  occupancy,
  openRooms,
  plannedCount,
  preparingRooms,
  roomCapacity,
  type ChatRecord,
  type CheckIn,
  type CommandEvent,
  type Member,
  NO_BLOCKS,
  NO_MEDIA,
  type Room,
  type SessionContext,
  type SystemEvent,
} from "./model";

type Cmd<T extends CommandEvent["type"]> = Extract<CommandEvent, { type: T }>;
type Sys<T extends SystemEvent["type"]> = Extract<SystemEvent, { type: T }>;

function patchMember(ctx: SessionContext, id: string, patch: Partial<Member>): SessionContext {
  return { ...ctx, members: { ...ctx.members, [id]: { ...ctx.members[id], ...patch } } };
}

function patchRoom(ctx: SessionContext, id: string, patch: Partial<Room>): SessionContext {
  return { ...ctx, rooms: { ...ctx.rooms, [id]: { ...ctx.rooms[id], ...patch } } };
}

/** Keep each open room's emptySince true to its occupancy (the empty-room timer starts when the last one leaves). */
function refreshEmptiness(ctx: SessionContext, roomIds: Iterable<string>, now: number): SessionContext {
  let next = ctx;
  for (const id of new Set(roomIds)) {
    const r = next.rooms[id];
    if (r?.status !== "open") continue;
    const empty = occupancy(next, id) === 0;
    if (empty && r.emptySince === null) next = patchRoom(next, id, { emptySince: now });
    else if (!empty && r.emptySince !== null) next = patchRoom(next, id, { emptySince: null });
  }
  return next;
}

/** Move members to places in one step; the only way locations change while admitted. */
/**
 * `keepBreakoutRoom`: the member's breakout room stays theirs to return to (they stepped out to the main room by
 * themselves); otherwise it becomes where they are put (a room) or none (the main room: staff decided).
 */
export function relocate(
  ctx: SessionContext,
  moves: ReadonlyArray<readonly [string, string | null]>,
  now: number,
  opts: { keepBreakoutRoom?: boolean } = {},
): SessionContext {
  if (moves.length === 0) return ctx;
  const members = { ...ctx.members };
  const touched: string[] = [];
  let spotlights = ctx.spotlights;
  for (const [id, to] of moves) {
    const m = members[id];
    if (!m || m.location === to) continue;
    if (m.location && m.location !== MAIN_ROOM) touched.push(m.location);
    if (to && to !== MAIN_ROOM) touched.push(to);
    // Someone featured in a place is not featured there once they leave it.
    if (m.location !== null && spotlights[m.location] === id) {
      spotlights = { ...spotlights };
      delete spotlights[m.location];
    }
    // Arrival is per media room: a new place means not arrived yet. A breakout room is remembered for "return".
    // A private check-in is no breakout room: stepping into one keeps the room to go back to.
    const intoCheckIn = to !== null && ctx.checkIns[to] !== undefined;
    const breakoutRoom = to !== null && to !== MAIN_ROOM && !intoCheckIn ? to : opts.keepBreakoutRoom || intoCheckIn ? m.breakoutRoom : null;
    members[id] = { ...m, location: to, arrivedIn: null, breakoutRoom };
  }
  return refreshEmptiness({ ...ctx, members, spotlights }, touched, now);
}

/** Someone admitted while rooms are being prepared is planned into their pre-assigned room (when it has space). */
function planPreAssigned(ctx: SessionContext, memberId: string, phase: string): SessionContext {
  const m = ctx.members[memberId];
  const pre = ctx.preAssignments[m.identity];
  if (phase !== "preparing" || !ctx.round || m.status !== "admitted" || !pre || ctx.round.plan[memberId] === pre) return ctx;
  const room = ctx.rooms[pre];
  if (room?.status !== "preparing" || plannedCount(ctx, pre) >= room.capacity) return ctx;
  return { ...ctx, round: { ...ctx.round, plan: { ...ctx.round.plan, [memberId]: pre } } };
}

/** Where a newly admitted member goes: main, or (late joiner during open breakouts) a room. */
function placeForAdmitted(ctx: SessionContext, m: Member, phase: string): string {
  if (phase !== "open" || m.role !== "participant") return MAIN_ROOM;
  const pre = ctx.preAssignments[m.identity];
  if (pre && ctx.rooms[pre]?.status === "open" && occupancy(ctx, pre) < ctx.rooms[pre].capacity) return pre;
  if (ctx.settings.lateJoiners !== "auto" || ctx.round?.mode === "choose") return MAIN_ROOM;
  // Pairing rules: only rooms that break none of theirs (the room of someone they are to be with, none with someone to
  // keep apart); when that room is full, the main room (staff decide).
  const rules = (ctx.pairRules ?? []).filter((r) => r.memberA === m.id || r.memberB === m.id);
  const fits = (roomId: string) => !rules.some((r) => ruleBroken(ctx, r, (id) => (id === m.id ? roomId : ctx.members[id].location)));
  return smallestRoom(rules.length ? openRooms(ctx).filter((r) => fits(r.id)) : openRooms(ctx), (id) => occupancy(ctx, id)) ?? MAIN_ROOM;
}

// ---------------------------------------------------------------------------------------------------------------
// Membership
// ---------------------------------------------------------------------------------------------------------------

export function memberJoined(ctx: SessionContext, e: Sys<"memberJoined">, phase: string): SessionContext {
  const existing = memberByIdentity(ctx, e.identity);
  const inviteId = e.inviteId ?? null;
  if (existing) {
    // Rejoin: someone already admitted who left comes straight back (denied stays denied)...
    const agreement = e.agreementHash ? { hash: e.agreementHash, at: e.now } : existing.agreement;
    // A re-join with an alias changes it; without one, the alias they chose before stays.
    const alias = e.alias ?? existing.alias;
    if (existing.status === "left" && existing.admittedAt !== null) {
      // ...unless the session is full: then they wait like anyone else.
      if (admittedMembers(ctx).length >= MAX_ROOM_CAPACITY)
        return patchMember(ctx, existing.id, { status: "waiting", name: e.name, leftAt: null, agreement, alias });
      const next = patchMember(ctx, existing.id, { status: "admitted", name: e.name, leftAt: null, location: null, agreement, alias });
      const placed = relocate(next, [[existing.id, placeForAdmitted(next, next.members[existing.id], phase)]], e.now);
      return planPreAssigned(placed, existing.id, phase);
    }
    if (existing.status === "left") return patchMember(ctx, existing.id, { status: "waiting", name: e.name, leftAt: null, agreement, alias });
    return existing.name === e.name && existing.agreement === agreement && existing.alias === alias
      ? ctx
      : patchMember(ctx, existing.id, { name: e.name, agreement, alias });
  }
  const id = `m${ctx.nextMemberNumber}`;
  const staff = e.role !== "participant";
  // An invite that someone removed had used no longer admits by itself: it may be the same person with a new identity.
  const inviteOfRemoved = inviteId !== null && (ctx.invites?.[inviteId]?.removed ?? 0) > 0;
  const autoAdmit = staff || (ctx.settings.autoAdmit && !inviteOfRemoved);
  const member: Member = {
    id,
    identity: e.identity,
    name: e.name,
    role: e.role,
    status: autoAdmit ? "admitted" : "waiting",
    location: null,
    arrivedIn: null,
    connected: false,
    quality: null,
    mediaProblem: null,
    helpRequest: null,
    joinedAt: e.now,
    admittedAt: autoAdmit ? e.now : null,
    leftAt: null,
    inviteId,
    joinNote: inviteOfRemoved && !autoAdmit ? "invite-of-removed" : null,
    media: NO_MEDIA,
    blocked: NO_BLOCKS,
    hand: null,
    breakoutRoom: null,
    agreement: e.agreementHash ? { hash: e.agreementHash, at: e.now } : null,
    alias: e.role === "participant" ? (e.alias ?? null) : null,
    checkInRequest: null,
  };
  const next: SessionContext = { ...ctx, nextMemberNumber: ctx.nextMemberNumber + 1, members: { ...ctx.members, [id]: member } };
  if (!autoAdmit) return next;
  if (admittedMembers(ctx).length >= MAX_ROOM_CAPACITY) return patchMember(next, id, { status: "waiting", admittedAt: null });
  return planPreAssigned(relocate(next, [[id, placeForAdmitted(next, member, phase)]], e.now), id, phase);
}

export function admit(ctx: SessionContext, e: Cmd<"admit">, phase: string): SessionContext {
  const next = patchMember(ctx, e.memberId, { status: "admitted", admittedAt: e.now, joinNote: null });
  const placed = relocate(next, [[e.memberId, placeForAdmitted(next, next.members[e.memberId], phase)]], e.now);
  return planPreAssigned(placed, e.memberId, phase);
}

export const setAlias = (ctx: SessionContext, e: Cmd<"setAlias">) => patchMember(ctx, e.actor.memberId, { alias: e.alias });

export const countAgreementDecline = (ctx: SessionContext): SessionContext => ({ ...ctx, agreementDeclines: ctx.agreementDeclines + 1 });

export const deny = (ctx: SessionContext, e: Cmd<"deny">) =>
  withoutPairRules(patchMember(ctx, e.memberId, { status: "denied", leftAt: e.now, joinNote: null }), e.memberId);

// ---------------------------------------------------------------------------------------------------------------
// Pairing rules
// ---------------------------------------------------------------------------------------------------------------

/** The pair in the order rules keep it (one rule per pair, whichever way round it was named). */
export const pairKey = (a: string, b: string): [string, string] => (a < b ? [a, b] : [b, a]);

export const pairRuleOf = (ctx: SessionContext, a: string, b: string): PairRule | undefined => {
  const [x, y] = pairKey(a, b);
  return (ctx.pairRules ?? []).find((r) => r.memberA === x && r.memberB === y);
};

/** Set (or with rule null, remove) the rule between two members; a new rule for a pair replaces the old one. */
export function setPairRule(ctx: SessionContext, e: Cmd<"setPairRule">): SessionContext {
  const [memberA, memberB] = pairKey(e.memberA, e.memberB);
  const rules = ctx.pairRules ?? [];
  const rest = rules.filter((r) => r.memberA !== memberA || r.memberB !== memberB);
  if (e.rule === null) return rest.length === rules.length ? ctx : { ...ctx, pairRules: rest };
  return { ...ctx, pairRules: [...rest, { memberA, memberB, rule: e.rule }] };
}

/** Someone denied or removed is gone for good: the rules naming them go too (someone who left keeps theirs, ignored while away). */
function withoutPairRules(ctx: SessionContext, memberId: string): SessionContext {
  const rules = ctx.pairRules ?? [];
  const rest = rules.filter((r) => r.memberA !== memberId && r.memberB !== memberId);
  return rest.length === rules.length ? ctx : { ...ctx, pairRules: rest };
}

/** The rules as automatic assignment takes them (assignment ignores people it is not placing). */
export function assignmentRules(ctx: SessionContext): { apart: [string, string][]; together: [string, string][] } {
  const apart: [string, string][] = [];
  const together: [string, string][] = [];
  for (const r of ctx.pairRules ?? []) (r.rule === "apart" ? apart : together).push([r.memberA, r.memberB]);
  return { apart, together };
}

/**
 * Whether a rule is broken by where two people are (places: a planned room while preparing, a location while open).
 * "apart": both in the same breakout room. "together": both in breakout rooms, different ones (someone unassigned,
 * in the main room or in a private check-in breaks nothing: staff decided they sit this round out).
 */
export function ruleBroken(ctx: SessionContext, rule: PairRule, placeOf: (memberId: string) => string | null): boolean {
  const a = ctx.members[rule.memberA];
  const b = ctx.members[rule.memberB];
  if (a?.status !== "admitted" || b?.status !== "admitted") return false;
  const pa = placeOf(a.id);
  const pb = placeOf(b.id);
  const inRoom = (p: string | null) => p !== null && p !== MAIN_ROOM && ctx.rooms[p] !== undefined;
  if (!inRoom(pa) || !inRoom(pb)) return false;
  return rule.rule === "apart" ? pa === pb : pa !== pb;
}

function dropFromPlans(ctx: SessionContext, memberId: string): SessionContext {
  if (!ctx.round || !(memberId in ctx.round.plan)) return ctx;
  const plan = { ...ctx.round.plan };
  delete plan[memberId];
  return { ...ctx, round: { ...ctx.round, plan } };
}

function depart(ctx: SessionContext, memberId: string, status: "left" | "denied", now: number): SessionContext {
  // Someone leaving a private check-in ends it: the other person goes back where they were.
  const checkIn = checkInOf(ctx, memberId);
  const ended = checkIn ? finishCheckIn(ctx, checkIn.id, now) : ctx;
  const moved = relocate(ended, [[memberId, null]], now);
  return dropFromPlans(patchMember(moved, memberId, { status, leftAt: now, helpRequest: null, connected: false, hand: null, media: NO_MEDIA }), memberId);
}

/** Removed: out of every place and plan (and pairing rule); their invite remembers it (and stops working, when asked to). */
export function removeMember(ctx: SessionContext, e: Cmd<"removeMember">): SessionContext {
  const inviteId = ctx.members[e.memberId].inviteId ?? null;
  const next = withoutPairRules(depart(ctx, e.memberId, "denied", e.now), e.memberId);
  if (inviteId === null) return next;
  const cur = ctx.invites?.[inviteId] ?? { removed: 0, revokedAt: null };
  const record = { removed: cur.removed + 1, revokedAt: e.revokeInvite ? (cur.revokedAt ?? e.now) : cur.revokedAt };
  return { ...next, invites: { ...(ctx.invites ?? {}), [inviteId]: record } };
}
export const leave = (ctx: SessionContext, e: Cmd<"leave">) => depart(ctx, e.actor.memberId, "left", e.now);

export function updateSettings(ctx: SessionContext, e: Cmd<"updateSettings">): SessionContext {
  const settings: Settings = { ...ctx.settings, ...e.settings };
  return { ...ctx, settings };
}

export const setConnection = (ctx: SessionContext, e: Sys<"connection">) =>
  ctx.members[e.memberId] && ctx.members[e.memberId].connected !== e.connected ? patchMember(ctx, e.memberId, { connected: e.connected }) : ctx;

/** Arriving in a media room settles whatever kept the member from connecting. */
export function setArrival(ctx: SessionContext, e: Sys<"arrival">): SessionContext {
  const m = ctx.members[e.memberId];
  if (!m || m.arrivedIn === e.mediaRoom) return ctx;
  return patchMember(ctx, e.memberId, e.mediaRoom !== null && m.mediaProblem ? { arrivedIn: e.mediaRoom, mediaProblem: null } : { arrivedIn: e.mediaRoom });
}

export function setMediaProblem(ctx: SessionContext, e: Sys<"mediaProblem">): SessionContext {
  const m = ctx.members[e.memberId];
  if (!m || (m.mediaProblem?.code ?? null) === e.code) return ctx;
  return patchMember(ctx, e.memberId, { mediaProblem: e.code === null ? null : { code: e.code, at: e.now } });
}

export const setQuality = (ctx: SessionContext, e: Sys<"quality">) =>
  ctx.members[e.memberId] && ctx.members[e.memberId].quality !== e.level ? patchMember(ctx, e.memberId, { quality: e.level }) : ctx;

export function setMedia(ctx: SessionContext, media: MediaRoomPublic): SessionContext {
  const cur = ctx.media[media.key];
  if (cur && cur.status === media.status && cur.sid === media.sid && cur.error === media.error && cur.name === media.name) return ctx;
  return { ...ctx, media: { ...ctx.media, [media.key]: media } };
}

// ---------------------------------------------------------------------------------------------------------------
// Rooms and rounds
// ---------------------------------------------------------------------------------------------------------------

function newRoom(ctx: SessionContext, name: string | undefined, capacity: number, round: number, now: number): [SessionContext, Room] {
  const id = `r${ctx.nextRoomNumber}`;
  const room: Room = {
    id,
    name: name ?? `Room ${ctx.nextRoomNumber}`,
    status: "preparing",
    capacity,
    round,
    openedAt: null,
    closedAt: null,
    emptySince: null,
  };
  void now;
  return [{ ...ctx, nextRoomNumber: ctx.nextRoomNumber + 1, rooms: { ...ctx.rooms, [id]: room } }, room];
}

const roundSeed = (ctx: SessionContext) => (ctx.seed ^ Math.imul(ctx.roundsCompleted + 1, 0x9e3779b1)) >>> 0;

/**
 * Pre-assignments count as fixed; with supervisedRooms, so do staff: placed first, one per room (in join order, into
 * the rooms without a pre-assigned staff member), the rest of the staff stay in the main room.
 */
function fixedPlacements(ctx: SessionContext, includeStaff: readonly string[]): Record<string, string> {
  const fixed: Record<string, string> = {};
  for (const m of admittedMembers(ctx)) {
    const pre = ctx.preAssignments[m.identity];
    if (pre && ctx.rooms[pre]?.status === "preparing") fixed[m.id] = pre;
  }
  void includeStaff;
  if (!ctx.settings.supervisedRooms) return fixed;
  const staffed = new Set(Object.entries(fixed).flatMap(([id, room]) => (ctx.members[id].role !== "participant" ? [room] : [])));
  const rooms = preparingRooms(ctx).filter((r) => !staffed.has(r.id));
  const staff = admittedMembers(ctx).filter((m) => m.role !== "participant" && !(m.id in fixed));
  for (let i = 0; i < Math.min(rooms.length, staff.length); i++) fixed[staff[i].id] = rooms[i].id;
  return fixed;
}

/** supervisedRooms: preparing rooms with no staff member planned (what opening them would leave unsupervised). */
export function unsupervisedRooms(ctx: SessionContext): Room[] {
  const plan = ctx.round?.plan ?? {};
  const staffed = new Set(Object.entries(plan).flatMap(([id, room]) => (ctx.members[id]?.role !== "participant" ? [room] : [])));
  return preparingRooms(ctx).filter((r) => !staffed.has(r.id));
}

/**
 * supervisedRooms: the open breakout room a staff member's disconnecting or leaving leaves without any connected staff
 * member (null when they were not its last one, or the setting is off).
 */
export function roomLeftUnsupervised(ctx: SessionContext, memberId: string): Room | null {
  const m = ctx.members[memberId];
  if (!ctx.settings.supervisedRooms || !m || m.role === "participant" || m.status !== "admitted" || !m.location) return null;
  const room = ctx.rooms[m.location];
  if (room?.status !== "open") return null;
  const others = Object.values(ctx.members).some(
    (x) => x.id !== m.id && x.role !== "participant" && x.status === "admitted" && x.connected && x.location === room.id,
  );
  return others ? null : room;
}

/** The automatic plan for the preparing rooms (the `autoAssign` rule asks the same question, so both agree). */
export function autoPlanResult(ctx: SessionContext, includeStaff: readonly string[]) {
  const rooms = Object.values(ctx.rooms).filter((r) => r.status === "preparing");
  const people = admittedMembers(ctx).filter((m) => m.role === "participant" || includeStaff.includes(m.id));
  return autoAssign({
    memberIds: people.map((m) => m.id),
    rooms,
    fixed: fixedPlacements(ctx, includeStaff),
    seed: roundSeed(ctx),
    ...assignmentRules(ctx),
  });
}

function autoPlan(ctx: SessionContext, includeStaff: readonly string[]): Record<string, string> {
  const result = autoPlanResult(ctx, includeStaff);
  // The rule checked capacity before this runs; an impossible plan leaves everyone unassigned rather than half-placed.
  return result.ok ? result.plan : {};
}

/**
 * The live state without the rooms of past rounds (all closed by now) and their completed media rooms. Their history
 * is in D1; kept here, every event would cost more with every round (copies, diffs, storage). Ids are never reused
 * (nextRoomNumber), so nothing can confuse a new room with a forgotten one.
 */
function withoutPastRounds(ctx: SessionContext): SessionContext {
  if (!Object.values(ctx.rooms).some((r) => r.status === "closed")) return ctx;
  const rooms = Object.fromEntries(Object.entries(ctx.rooms).filter(([, r]) => r.status !== "closed"));
  const media = Object.fromEntries(Object.entries(ctx.media).filter(([key, m]) => key === MAIN_ROOM || key in rooms || m.status !== "completed"));
  return { ...ctx, rooms, media };
}

export function createBreakouts(ctx: SessionContext, e: Cmd<"createBreakouts">): SessionContext {
  const next = preparedRound(ctx, e);
  const plan = e.mode === "auto" ? autoPlan(next, e.includeStaff ?? []) : fixedPlacements(next, []);
  return { ...next, round: { ...next.round!, plan } };
}

/** The new round's rooms, before anyone is planned (the createBreakouts rule asks autoPlanResult of it too). */
export function preparedRound(ctx: SessionContext, e: Cmd<"createBreakouts">): SessionContext {
  const names = e.names ?? Array.from({ length: e.count ?? 0 }, (_, i) => `Room ${i + 1}`);
  const capacity = roomCapacity(ctx, e.capacity);
  const number = ctx.roundsCompleted + 1;
  let next: SessionContext = { ...withoutPastRounds(ctx), nextRoomNumber: ctx.nextRoomNumber };
  for (const name of names) next = newRoom(next, name, capacity, number, e.now)[0];
  next = {
    ...next,
    round: {
      number,
      mode: e.mode,
      durationSeconds: e.durationSeconds ?? null,
      plan: {},
      openedAt: null,
      endsAt: null,
      warned: false,
      closesAt: null,
    },
  };
  return next;
}

export function addRoom(ctx: SessionContext, e: Cmd<"addRoom">): SessionContext {
  const rooms = preparingRooms(ctx);
  // Same capacity as the round's other rooms; a default name no other room of the round has.
  const capacity = rooms[0]?.capacity ?? roomCapacity(ctx, null);
  const taken = new Set(rooms.map((r) => r.name.toLowerCase()));
  let k = rooms.length + 1;
  while (taken.has(`room ${k}`)) k++;
  return newRoom(ctx, e.name ?? `Room ${k}`, capacity, ctx.round!.number, e.now)[0];
}

export const renameRoom = (ctx: SessionContext, e: Cmd<"renameRoom">) => patchRoom(ctx, e.roomId, { name: e.name });

export function deleteRoom(ctx: SessionContext, e: Cmd<"deleteRoom">): SessionContext {
  const next = patchRoom(ctx, e.roomId, { status: "closed", closedAt: e.now });
  const plan = Object.fromEntries(Object.entries(ctx.round!.plan).filter(([, r]) => r !== e.roomId));
  const preAssignments = Object.fromEntries(Object.entries(ctx.preAssignments).filter(([, r]) => r !== e.roomId));
  return { ...next, preAssignments, round: { ...next.round!, plan } };
}

export const autoAssignPlan = (ctx: SessionContext) => ({ ...ctx, round: { ...ctx.round!, plan: autoPlan(ctx, []) } });

function setPlan(ctx: SessionContext, entries: ReadonlyArray<{ memberId: string; roomId: string | null }>): SessionContext {
  const plan = { ...ctx.round!.plan };
  for (const { memberId, roomId } of entries) {
    if (roomId === null) delete plan[memberId];
    else plan[memberId] = roomId;
  }
  return { ...ctx, round: { ...ctx.round!, plan } };
}

export const assignPlan = (ctx: SessionContext, e: Cmd<"assign">) => setPlan(ctx, [e]);

export function bulkAssign(ctx: SessionContext, e: Cmd<"bulkAssign">, phase: string): SessionContext {
  if (phase === "preparing") return setPlan(ctx, e.assignments);
  return relocate(
    ctx,
    e.assignments.map((a) => [a.memberId, a.roomId ?? MAIN_ROOM] as const),
    e.now,
  );
}

export function preAssign(ctx: SessionContext, e: Cmd<"preAssign">, phase: string): SessionContext {
  const preAssignments = { ...ctx.preAssignments };
  if (e.roomId === null) delete preAssignments[e.identity];
  else preAssignments[e.identity] = e.roomId;
  let next: SessionContext = { ...ctx, preAssignments };
  // Someone already here with that identity is planned (preparing) right away; live rooms only affect later joins.
  const m = memberByIdentity(ctx, e.identity);
  if (m && m.status === "admitted" && phase === "preparing") next = setPlan(next, [{ memberId: m.id, roomId: e.roomId }]);
  return next;
}

export function openBreakouts(ctx: SessionContext, e: Cmd<"openBreakouts">): SessionContext {
  let next = ctx;
  const round = ctx.round!;
  for (const r of Object.values(ctx.rooms)) {
    if (r.status === "preparing") next = patchRoom(next, r.id, { status: "open", openedAt: e.now });
  }
  const endsAt = round.durationSeconds ? e.now + round.durationSeconds * 1000 : null;
  next = { ...next, round: { ...round, openedAt: e.now, endsAt } };
  const moves: [string, string][] = [];
  for (const [memberId, roomId] of Object.entries(round.plan)) {
    if (next.members[memberId]?.status !== "admitted" || next.rooms[roomId]?.status !== "open") continue;
    // Someone in a private check-in stays there; it ends into the room they were planned for.
    const checkIn = checkInOf(next, memberId);
    if (checkIn) next = withCheckInReturn(next, checkIn, memberId, roomId);
    else moves.push([memberId, roomId]);
  }
  next = relocate(next, moves, e.now);
  // Rooms nobody was planned into start their empty timer now.
  return refreshEmptiness(next, Object.keys(next.rooms), e.now);
}

export function move(ctx: SessionContext, e: Cmd<"move">): SessionContext {
  return relocate(ctx, [[e.memberId, e.to]], e.now);
}

export function swap(ctx: SessionContext, e: Cmd<"swap">): SessionContext {
  const a = ctx.members[e.memberA].location;
  const b = ctx.members[e.memberB].location;
  return relocate(
    ctx,
    [
      [e.memberA, b],
      [e.memberB, a],
    ],
    e.now,
  );
}

/** Staff visiting a place: they are there, and the help requests of the people there are answered by the visit. */
export function visitRoom(ctx: SessionContext, e: Cmd<"visitRoom">): SessionContext {
  let next = relocate(ctx, [[e.actor.memberId, e.to]], e.now);
  for (const id of helpAnsweredByVisit(ctx, e.to)) next = patchMember(next, id, { helpRequest: null });
  return next;
}

/** Participants in a place who asked for help: a staff visit there answers them. */
export function helpAnsweredByVisit(ctx: SessionContext, place: string): string[] {
  return Object.values(ctx.members)
    .filter((m) => m.role === "participant" && m.status === "admitted" && m.location === place && m.helpRequest !== null)
    .map((m) => m.id);
}
export const chooseRoom = (ctx: SessionContext, e: Cmd<"chooseRoom">, phase: string) =>
  phase === "preparing" ? setPlan(ctx, [{ memberId: e.actor.memberId, roomId: e.roomId }]) : relocate(ctx, [[e.actor.memberId, e.roomId]], e.now);
export const returnToMain = (ctx: SessionContext, e: Cmd<"returnToMain">) => relocate(ctx, [[e.actor.memberId, MAIN_ROOM]], e.now, { keepBreakoutRoom: true });
export const returnToRoom = (ctx: SessionContext, e: Cmd<"returnToRoom">) =>
  relocate(ctx, [[e.actor.memberId, ctx.members[e.actor.memberId].breakoutRoom]], e.now);

/** Close rooms: whoever is inside goes back to main first, so nobody is ever in a closed room. */
export function closeRooms(ctx: SessionContext, roomIds: readonly string[], now: number): SessionContext {
  const ids = new Set(roomIds);
  const moves: [string, string][] = [];
  for (const m of Object.values(ctx.members)) if (m.location && ids.has(m.location)) moves.push([m.id, MAIN_ROOM]);
  let next = relocate(ctx, moves, now);
  for (const id of ids) if (next.rooms[id].status !== "closed") next = patchRoom(next, id, { status: "closed", closedAt: now, emptySince: null });
  return next;
}

export const closeRoom = (ctx: SessionContext, e: Cmd<"closeRoom">) => closeRooms(ctx, [e.roomId], e.now);

export function startClosingCountdown(ctx: SessionContext, seconds: number, now: number): SessionContext {
  return { ...ctx, round: { ...ctx.round!, closesAt: now + seconds * 1000 } };
}

export function extendRound(ctx: SessionContext, e: Cmd<"extendRound">): SessionContext {
  const round = ctx.round!;
  // While closing, extending cancels the countdown and gives the rooms `seconds` more from now.
  const base = round.closesAt !== null ? e.now : (round.endsAt ?? e.now);
  return { ...ctx, round: { ...round, endsAt: base + e.seconds * 1000, closesAt: null, warned: false } };
}

/** The countdown stops; rooms stay open. A round whose time had run out goes on without a timer (nothing is due). */
export function cancelClosing(ctx: SessionContext, e: Cmd<"cancelClosing">): SessionContext {
  const round = ctx.round!;
  const endsAt = round.endsAt !== null && round.endsAt <= e.now ? null : round.endsAt;
  return { ...ctx, round: { ...round, closesAt: null, endsAt, warned: endsAt === null ? false : round.warned } };
}

/** Everyone back to main, every room closed, the round counted. */
export function finishRound(ctx: SessionContext, now: number): SessionContext {
  const live = Object.values(ctx.rooms)
    .filter((r) => r.status !== "closed")
    .map((r) => r.id);
  const next = closeRooms(ctx, live, now);
  const opened = ctx.round?.openedAt !== null && ctx.round !== null;
  return { ...forgetBreakoutRooms(next), round: null, preAssignments: {}, roundsCompleted: ctx.roundsCompleted + (opened ? 1 : 0) };
}

/** A round is over: nobody has a breakout room to return to. Members without one keep their identity. */
function forgetBreakoutRooms(ctx: SessionContext): SessionContext {
  if (!Object.values(ctx.members).some((m) => m.breakoutRoom !== null)) return ctx;
  const members = { ...ctx.members };
  for (const m of Object.values(members)) if (m.breakoutRoom !== null) members[m.id] = { ...m, breakoutRoom: null };
  return { ...ctx, members };
}

/** Rooms whose empty timer has run out. */
export function expiredEmptyRooms(ctx: SessionContext, now: number): string[] {
  const limit = ctx.settings.emptyRoomTimeoutSeconds * 1000;
  return openRooms(ctx)
    .filter((r) => r.emptySince !== null && now >= r.emptySince + limit)
    .map((r) => r.id);
}

export function requestHelp(ctx: SessionContext, e: Cmd<"requestHelp">): SessionContext {
  return patchMember(ctx, e.actor.memberId, { helpRequest: { at: e.now, message: e.message ?? "" } });
}

export const resolveHelp = (ctx: SessionContext, e: Cmd<"resolveHelp">) => patchMember(ctx, e.memberId, { helpRequest: null });

// ---------------------------------------------------------------------------------------------------------------
// Private check-ins: a place of their own ("k<n>", with its own media room) for one client and one staff member.
// ---------------------------------------------------------------------------------------------------------------

export const requestCheckIn = (ctx: SessionContext, e: Cmd<"requestCheckIn">) =>
  patchMember(ctx, e.actor.memberId, { checkInRequest: ctx.members[e.actor.memberId].checkInRequest ?? { at: e.now } });

export function startCheckIn(ctx: SessionContext, e: Cmd<"startCheckIn">): SessionContext {
  const id = `k${ctx.nextCheckInNumber}`;
  const client = ctx.members[e.memberId];
  const staff = ctx.members[e.actor.memberId];
  const checkIn: CheckIn = {
    id,
    clientId: client.id,
    staffId: staff.id,
    startedAt: e.now,
    clientReturn: client.location ?? MAIN_ROOM,
    staffReturn: staff.location ?? MAIN_ROOM,
  };
  const next: SessionContext = { ...ctx, checkIns: { ...ctx.checkIns, [id]: checkIn }, nextCheckInNumber: ctx.nextCheckInNumber + 1 };
  const moved = relocate(
    next,
    [
      [client.id, id],
      [staff.id, id],
    ],
    e.now,
  );
  return patchMember(moved, client.id, { checkInRequest: null });
}

/** Where someone goes back to: the place they left, if it is main or a room still open; else the main room. */
function returnPlace(ctx: SessionContext, place: string): string {
  return place === MAIN_ROOM || ctx.rooms[place]?.status === "open" ? place : MAIN_ROOM;
}

function withCheckInReturn(ctx: SessionContext, checkIn: CheckIn, memberId: string, place: string): SessionContext {
  const updated = memberId === checkIn.clientId ? { ...checkIn, clientReturn: place } : { ...checkIn, staffReturn: place };
  return { ...ctx, checkIns: { ...ctx.checkIns, [checkIn.id]: updated } };
}

/** The check-in ends: both go back where they were (those still in it), and its place is gone. */
function finishCheckIn(ctx: SessionContext, checkInId: string, now: number): SessionContext {
  const k = ctx.checkIns[checkInId];
  const moves: [string, string][] = [];
  for (const [id, place] of [
    [k.clientId, k.clientReturn],
    [k.staffId, k.staffReturn],
  ] as const)
    if (ctx.members[id]?.location === k.id) moves.push([id, returnPlace(ctx, place)]);
  // Back to their breakout room counts as "placed there this round" again; back to main keeps the room to return to.
  const moved = relocate(ctx, moves, now, { keepBreakoutRoom: true });
  const checkIns = { ...moved.checkIns };
  delete checkIns[checkInId];
  return { ...moved, checkIns };
}

export const endCheckIn = (ctx: SessionContext, e: Cmd<"endCheckIn">) => finishCheckIn(ctx, e.checkInId, e.now);

export function endSession(ctx: SessionContext, now: number, reason: string): SessionContext {
  const live = Object.values(ctx.rooms)
    .filter((r) => r.status !== "closed")
    .map((r) => r.id);
  let next = closeRooms(ctx, live, now);
  const moves: [string, null][] = Object.values(next.members)
    .filter((m) => m.location !== null)
    .map((m) => [m.id, null]);
  next = relocate(next, moves, now);
  const members = { ...next.members };
  for (const m of Object.values(members)) {
    if (m.status === "admitted" || m.status === "waiting") members[m.id] = { ...m, status: "left", leftAt: now, helpRequest: null };
  }
  const roundsCompleted = next.roundsCompleted + (ctx.round?.openedAt ? 1 : 0);
  return { ...forgetBreakoutRooms({ ...next, members }), round: null, roundsCompleted, endedAt: now, endReason: reason, spotlights: {}, checkIns: {} };
}

// ---------------------------------------------------------------------------------------------------------------
// Chat
// ---------------------------------------------------------------------------------------------------------------

/** The place of a "room:<place>" channel, the member of a "private:<memberId>" one. */
export function parseChannel(channel: string): { kind: "room"; place: string } | { kind: "private"; memberId: string } | null {
  const i = channel.indexOf(":");
  const head = channel.slice(0, i);
  const rest = channel.slice(i + 1);
  if (i <= 0 || !rest) return null;
  if (head === "room") return { kind: "room", place: rest };
  if (head === "private") return { kind: "private", memberId: rest };
  return null;
}

/** Participants who read a channel now: those in the place (a room channel), or the one member (private). */
function channelAudience(ctx: SessionContext, channel: string): string[] {
  const c = parseChannel(channel);
  if (!c) return [];
  if (c.kind === "private") return [c.memberId];
  return Object.values(ctx.members)
    .filter((m) => m.role === "participant" && m.status === "admitted" && m.location === c.place)
    .map((m) => m.id);
}

function addChat(ctx: SessionContext, record: Omit<ChatRecord, "id">): SessionContext {
  const id = `c${ctx.nextChatNumber}`;
  let chat: Record<string, ChatRecord> = { ...ctx.chat, [id]: { id, ...record } };
  const ids = Object.keys(chat);
  // Bounded: the oldest go first (ids count up, so the lowest number is the oldest).
  if (ids.length > MAX_CHAT_MESSAGES) {
    const keep = ids.sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))).slice(-MAX_CHAT_MESSAGES);
    chat = Object.fromEntries(keep.map((k) => [k, chat[k]]));
  }
  return { ...ctx, chat, nextChatNumber: ctx.nextChatNumber + 1 };
}

export function sendChat(ctx: SessionContext, e: Cmd<"sendChat">): SessionContext {
  const me = ctx.members[e.actor.memberId];
  return addChat(ctx, {
    channel: e.channel,
    kind: "message",
    from: me.id,
    // Clients read chat too: a client is named as the roster setting shows them (staff know who by `from`).
    fromName: rosterName(me, ctx.settings.roster),
    fromRole: me.role,
    text: e.text,
    at: e.now,
    audience: channelAudience(ctx, e.channel),
  });
}

/** A broadcast also appears in chat: everyone's ("all"), or the room's. */
export function broadcastToChat(ctx: SessionContext, e: Cmd<"broadcast">): SessionContext {
  // The engine itself may broadcast (system actor): it speaks as the session's staff.
  const me = ctx.members[e.actor.memberId];
  const channel = e.roomId ? `room:${e.roomId}` : "all";
  return addChat(ctx, {
    channel,
    kind: "broadcast",
    from: me?.id ?? e.actor.memberId,
    fromName: me?.name ?? "The facilitators",
    fromRole: me?.role ?? "facilitator",
    text: e.text,
    at: e.now,
    audience: e.roomId ? channelAudience(ctx, channel) : "*",
  });
}

export function deleteChat(ctx: SessionContext, e: Cmd<"deleteChat">): SessionContext {
  const chat = { ...ctx.chat };
  delete chat[e.messageId];
  return { ...ctx, chat };
}

// ---------------------------------------------------------------------------------------------------------------
// Moderation, hands, media state
// ---------------------------------------------------------------------------------------------------------------

const OFF_WHEN_BLOCKED: Record<MediaKind, keyof Member["media"]> = { audio: "mic", video: "cam", screen: "screen" };

export function blockMedia(ctx: SessionContext, e: Cmd<"blockMedia">): SessionContext {
  const m = ctx.members[e.memberId];
  return patchMember(ctx, m.id, { blocked: { ...m.blocked, [e.kind]: true }, media: { ...m.media, [OFF_WHEN_BLOCKED[e.kind]]: false } });
}

export function allowMedia(ctx: SessionContext, e: Cmd<"allowMedia">): SessionContext {
  const m = ctx.members[e.memberId];
  return m.blocked[e.kind] ? patchMember(ctx, m.id, { blocked: { ...m.blocked, [e.kind]: false } }) : ctx;
}

/** The place a place-scoped staff command means: the one named, or where the caller is. */
export const placeOf = (ctx: SessionContext, e: { actor: { memberId: string }; location?: string }) =>
  e.location ?? ctx.members[e.actor.memberId]?.location ?? null;

export function muteAll(ctx: SessionContext, e: Cmd<"muteAll">): SessionContext {
  const place = placeOf(ctx, e);
  let next = ctx;
  for (const m of Object.values(ctx.members)) {
    if (m.role !== "participant" || m.status !== "admitted" || m.location !== place || m.blocked.audio) continue;
    next = patchMember(next, m.id, { blocked: { ...m.blocked, audio: true }, media: { ...m.media, mic: false } });
  }
  return next;
}

/** Participants a muteAll turns off (for the notices). */
export const mutedByMuteAll = (ctx: SessionContext, e: Cmd<"muteAll">) => {
  const place = placeOf(ctx, e);
  return Object.values(ctx.members)
    .filter((m) => m.role === "participant" && m.status === "admitted" && m.location === place && !m.blocked.audio)
    .map((m) => m.id);
};

export function spotlight(ctx: SessionContext, e: Cmd<"spotlight">): SessionContext {
  const place = e.location ?? (e.memberId ? ctx.members[e.memberId].location : ctx.members[e.actor.memberId].location);
  if (place === null) return ctx;
  const spotlights = { ...ctx.spotlights };
  if (e.memberId === null) delete spotlights[place];
  else spotlights[place] = e.memberId;
  return { ...ctx, spotlights };
}

export const raiseHand = (ctx: SessionContext, e: Cmd<"raiseHand">) =>
  ctx.members[e.actor.memberId].hand !== null ? ctx : patchMember(ctx, e.actor.memberId, { hand: e.now });

export function lowerHand(ctx: SessionContext, e: Cmd<"lowerHand">): SessionContext {
  const id = e.memberId ?? e.actor.memberId;
  return ctx.members[id].hand === null ? ctx : patchMember(ctx, id, { hand: null });
}

export function setMemberMedia(ctx: SessionContext, e: Cmd<"setMedia">): SessionContext {
  const m = ctx.members[e.actor.memberId];
  const media = { mic: e.mic ?? m.media.mic, cam: e.cam ?? m.media.cam, screen: e.screen ?? m.media.screen };
  return media.mic === m.media.mic && media.cam === m.media.cam && media.screen === m.media.screen ? ctx : patchMember(ctx, m.id, { media });
}

// ---------------------------------------------------------------------------------------------------------------
// Deadlines: the machine keeps them as times in its context; the Durable Object's single alarm wakes it.
// ---------------------------------------------------------------------------------------------------------------

export function sessionEndsAt(ctx: SessionContext): number | null {
  return ctx.settings.maxSessionSeconds ? ctx.createdAt + ctx.settings.maxSessionSeconds * 1000 : null;
}

export function warningAt(ctx: SessionContext): number | null {
  const r = ctx.round;
  if (!r || r.endsAt === null || r.warned || r.closesAt !== null || !ctx.settings.warningSeconds) return null;
  return r.endsAt - ctx.settings.warningSeconds * 1000;
}

/** The earliest time at which something is due, or null. */
export function nextDeadline(ctx: SessionContext, phase: string): number | null {
  if (phase === "ended") return null;
  const times: number[] = [];
  const end = sessionEndsAt(ctx);
  if (end !== null) times.push(end);
  if (phase === "open" || phase === "closing") {
    const r = ctx.round!;
    if (phase === "open" && r.endsAt !== null) times.push(r.endsAt);
    const w = warningAt(ctx);
    if (phase === "open" && w !== null) times.push(w);
    if (phase === "closing" && r.closesAt !== null) times.push(r.closesAt);
    const limit = ctx.settings.emptyRoomTimeoutSeconds * 1000;
    for (const room of openRooms(ctx)) if (room.emptySince !== null) times.push(room.emptySince + limit);
  }
  return times.length ? Math.min(...times) : null;
}
