/**
 * Why a command may not run now: role (lib/protocol's COMMANDS), membership, phase (the phases whose machine states
 * handle it) and data (one check per command). The engine asks once per command, before the machine sees it.
 */
import {
  COMMAND_ROLES,
  COMMAND_TYPES,
  MAIN_ROOM,
  MAX_BREAKOUT_ROOMS,
  MAX_PAIR_RULES,
  MAX_ROOM_CAPACITY,
  type CommandType,
  type ErrorCode,
  type PairRule,
} from "../../lib/protocol";
import { sessionMachine } from "./machine";
import { autoAssign } from "./assignment";
import { checkNextStep } from "./plan";
import { autoPlanResult, pairRuleOf, parseChannel, placeOf, preparedRound, ruleBroken, unsupervisedRooms } from "./updates";
import {
  admittedMembers,
  checkInOf,
  memberByIdentity,
  occupancy,
  plannedCount,
  preparingRooms,
  roomCapacity,
  type CommandEvent,
  type SessionContext,
  type SessionPhase,
} from "./model";

export interface Refusal {
  code: ErrorCode;
  message: string;
}

const refuse = (code: ErrorCode, message: string): Refusal => ({ code, message });

type Check<T extends CommandType> = (ctx: SessionContext, phase: SessionPhase, e: Extract<CommandEvent, { type: T }>) => Refusal | null;

const PHASE_STATES: Record<SessionPhase, string> = {
  main: "session.live.main",
  preparing: "session.live.breakout.preparing",
  open: "session.live.breakout.open",
  closing: "session.live.breakout.closing",
  ended: "session.ended",
};

/** Event types the machine handles in a phase: those of its state node and every ancestor's. */
function handledIn(phase: SessionPhase): Set<string> {
  const out = new Set<string>();
  for (
    let node: { ownEvents: readonly string[]; parent?: unknown } | undefined = sessionMachine.getStateNodeById(PHASE_STATES[phase]);
    node;
    node = node.parent as typeof node
  )
    for (const type of node.ownEvents) out.add(type);
  return out;
}

const HANDLED = Object.fromEntries((Object.keys(PHASE_STATES) as SessionPhase[]).map((p) => [p, handledIn(p)])) as Record<SessionPhase, Set<string>>;

/** Phases in which each command can run: read off the machine, so the two cannot disagree. */
export const PHASES = Object.fromEntries(
  COMMAND_TYPES.map((t) => [t, (Object.keys(PHASE_STATES) as SessionPhase[]).filter((p) => HANDLED[p].has(t))]),
) as unknown as Record<CommandType, readonly SessionPhase[]>;

function admitted(ctx: SessionContext, memberId: string): Refusal | null {
  const m = ctx.members[memberId];
  if (!m) return refuse("MEMBER_NOT_FOUND", `no member ${memberId} in this session`);
  if (m.status !== "admitted") return refuse("NOT_ADMITTED", `${m.name} is ${m.status}, not admitted`);
  return null;
}

/** Someone in a private check-in stays there until it ends (nobody moves them out of it, nor do they wander off). */
function notInCheckIn(ctx: SessionContext, memberId: string, who = ctx.members[memberId]?.name ?? memberId): Refusal | null {
  return checkInOf(ctx, memberId) ? refuse("INVALID_STATE", `${who} is in a private check-in; end it first`) : null;
}

/** Staff moderate participants (not each other). */
function moderated(ctx: SessionContext, memberId: string): Refusal | null {
  const a = admitted(ctx, memberId);
  if (a) return a;
  return ctx.members[memberId].role === "participant" ? null : refuse("FORBIDDEN", "staff do not moderate each other");
}

function room(ctx: SessionContext, roomId: string, wantStatus?: "preparing" | "open"): Refusal | null {
  const r = ctx.rooms[roomId];
  if (!r || r.status === "closed") return refuse("ROOM_NOT_FOUND", `no room ${roomId} in this round`);
  if (wantStatus === "open" && r.status !== "open") return refuse("ROOM_NOT_OPEN", `${r.name} is not open`);
  if (wantStatus === "preparing" && r.status !== "preparing") return refuse("INVALID_STATE", `${r.name} is already open`);
  return null;
}

/** Space in a place for one more: open rooms count who is there, preparing rooms count the plan. */
function hasSpace(ctx: SessionContext, location: string): Refusal | null {
  if (location === MAIN_ROOM) return null; // main holds the whole session (capped at admission)
  const r = ctx.rooms[location];
  const n = r.status === "open" ? occupancy(ctx, location) : plannedCount(ctx, location);
  return n >= r.capacity ? refuse("ROOM_FULL", `${r.name} is full (${r.capacity})`) : null;
}

function target(ctx: SessionContext, to: string): Refusal | null {
  return to === MAIN_ROOM ? null : (room(ctx, to, "open") ?? null);
}

function roomNames(_ctx: SessionContext, e: Extract<CommandEvent, { type: "createBreakouts" }>): string[] {
  return e.names ?? Array.from({ length: e.count ?? 0 }, (_, i) => `Room ${i + 1}`);
}

/**
 * A manual placement (member → place: a planned room while preparing, a location while open) that newly breaks a
 * pairing rule is refused, naming the rule, unless confirmed. Rules already broken before it are not raised again.
 */
function pairing(ctx: SessionContext, phase: SessionPhase, moves: ReadonlyMap<string, string | null>, confirmed: boolean | undefined): Refusal | null {
  if (confirmed || !ctx.pairRules?.length) return null;
  const before = (id: string) => (phase === "preparing" ? (ctx.round?.plan[id] ?? null) : ctx.members[id].location);
  const after = (id: string) => (moves.has(id) ? moves.get(id)! : before(id));
  const broken = ctx.pairRules.filter((r) => (moves.has(r.memberA) || moves.has(r.memberB)) && ruleBroken(ctx, r, after) && !ruleBroken(ctx, r, before));
  if (broken.length === 0) return null;
  const roomName = (p: string | null) => (p ? (ctx.rooms[p]?.name ?? p) : "the main room");
  const say = (r: PairRule) => {
    const [a, b] = [ctx.members[r.memberA].name, ctx.members[r.memberB].name];
    return r.rule === "apart"
      ? `${a} and ${b} are to be kept apart, and this puts both in ${roomName(after(r.memberA))}`
      : `${a} and ${b} are to stay together, and this puts them in ${roomName(after(r.memberA))} and ${roomName(after(r.memberB))}`;
  };
  return refuse("PAIRING_RULE", `${broken.map(say).join("; ")}; confirm to place them anyway`);
}

/** Why no automatic assignment satisfies the rules, in words staff can act on. */
function impossible(ctx: SessionContext, rooms: number): Refusal {
  const n = ctx.pairRules?.length ?? 0;
  return refuse(
    "PAIRING_IMPOSSIBLE",
    `no assignment into ${rooms} room${rooms === 1 ? "" : "s"} satisfies the ${n} pairing rule${n === 1 ? "" : "s"}; change a rule, change the rooms, or assign by hand`,
  );
}

const participantsToPlace = (ctx: SessionContext, includeStaff: readonly string[] = []) =>
  admittedMembers(ctx).filter((m) => m.role === "participant" || includeStaff.includes(m.id));

const CHECKS: { [T in CommandType]: Check<T> } = {
  admit: (ctx, _p, e) => {
    const m = ctx.members[e.memberId];
    if (!m) return refuse("MEMBER_NOT_FOUND", `no member ${e.memberId}`);
    if (m.status !== "waiting") return refuse("INVALID_STATE", `${m.name} is ${m.status}, not waiting`);
    if (admittedMembers(ctx).length >= MAX_ROOM_CAPACITY) return refuse("SESSION_FULL", `a session holds at most ${MAX_ROOM_CAPACITY} people`);
    return null;
  },
  deny: (ctx, _p, e) => {
    const m = ctx.members[e.memberId];
    if (!m) return refuse("MEMBER_NOT_FOUND", `no member ${e.memberId}`);
    return m.status === "waiting" ? null : refuse("INVALID_STATE", `${m.name} is ${m.status}, not waiting`);
  },
  removeMember: (ctx, _p, e) => {
    const m = ctx.members[e.memberId];
    if (!m) return refuse("MEMBER_NOT_FOUND", `no member ${e.memberId}`);
    if (m.status === "left" || m.status === "denied") return refuse("INVALID_STATE", `${m.name} is already ${m.status}`);
    if (m.role === "facilitator") return refuse("FORBIDDEN", "the facilitator cannot be removed");
    if (e.revokeInvite && !m.inviteId) return refuse("INVALID_STATE", `${m.name} did not join with an invite`);
    return null;
  },
  updateSettings: () => null,
  createBreakouts: (ctx, _p, e) => {
    const names = roomNames(ctx, e);
    if (names.length === 0) return refuse("INVALID_MESSAGE", "give a room count or room names");
    if (names.length > MAX_BREAKOUT_ROOMS) return refuse("TOO_MANY_ROOMS", `at most ${MAX_BREAKOUT_ROOMS} rooms`);
    if (new Set(names.map((n) => n.toLowerCase())).size !== names.length) return refuse("DUPLICATE_ROOM_NAME", "room names must differ");
    for (const id of e.includeStaff ?? []) {
      const r = admitted(ctx, id);
      if (r) return r;
    }
    const people = participantsToPlace(ctx, e.includeStaff);
    if (people.filter((m) => m.role === "participant").length < 2)
      return refuse("TOO_FEW_PARTICIPANTS", "breakout rooms need at least 2 admitted participants");
    if (e.mode === "auto") {
      const cap = roomCapacity(ctx, e.capacity);
      const plan = autoAssign({ memberIds: people.map((m) => m.id), rooms: names.map((_, i) => ({ id: `x${i}`, capacity: cap })), seed: 0 });
      if (!plan.ok) return refuse("ROOM_FULL", `${plan.needed} people do not fit in ${names.length} rooms of ${cap}`);
      // With pairing rules, the plan the update will make (its rooms, seed and fixed placements) must exist.
      if (ctx.pairRules?.length) {
        const real = autoPlanResult(preparedRound(ctx, e), e.includeStaff ?? []);
        if (!real.ok && real.reason === "PAIRING_IMPOSSIBLE") return impossible(ctx, names.length);
      }
    }
    return null;
  },
  addRoom: (ctx, _p, e) => {
    if (Object.values(ctx.rooms).filter((r) => r.status === "preparing").length >= MAX_BREAKOUT_ROOMS)
      return refuse("TOO_MANY_ROOMS", `at most ${MAX_BREAKOUT_ROOMS} rooms`);
    if (e.name && Object.values(ctx.rooms).some((r) => r.status !== "closed" && r.name.toLowerCase() === e.name!.toLowerCase()))
      return refuse("DUPLICATE_ROOM_NAME", `a room is already called ${e.name}`);
    return null;
  },
  renameRoom: (ctx, _p, e) =>
    room(ctx, e.roomId) ??
    (Object.values(ctx.rooms).some((r) => r.id !== e.roomId && r.status !== "closed" && r.name.toLowerCase() === e.name.toLowerCase())
      ? refuse("DUPLICATE_ROOM_NAME", `a room is already called ${e.name}`)
      : null),
  deleteRoom: (ctx, _p, e) => {
    const r = room(ctx, e.roomId, "preparing");
    if (r) return r;
    return Object.values(ctx.rooms).filter((x) => x.status === "preparing").length <= 1
      ? refuse("INVALID_STATE", "the last room cannot be deleted; close breakouts instead")
      : null;
  },
  autoAssign: (ctx) => {
    // The same computation the update runs (pre-assignments included), so an accepted autoAssign never empties the plan.
    const plan = autoPlanResult(ctx, []);
    if (!plan.ok && plan.reason === "PAIRING_IMPOSSIBLE") return impossible(ctx, preparingRooms(ctx).length);
    return plan.ok ? null : refuse("ROOM_FULL", `${plan.needed} people do not fit (${plan.available} places)`);
  },
  assign: (ctx, p, e) => {
    const a = admitted(ctx, e.memberId);
    if (a) return a;
    if (e.roomId === null) return null;
    if (ctx.round?.plan[e.memberId] === e.roomId) return null; // already planned there: idempotent
    return room(ctx, e.roomId, "preparing") ?? hasSpace(ctx, e.roomId) ?? pairing(ctx, p, new Map([[e.memberId, e.roomId]]), e.confirmRule);
  },
  bulkAssign: (ctx, phase, e) => {
    const seen = new Set<string>();
    const want = new Map<string, number>();
    for (const { memberId, roomId } of e.assignments) {
      if (seen.has(memberId)) return refuse("INVALID_MESSAGE", `${memberId} appears twice`);
      seen.add(memberId);
      const a = admitted(ctx, memberId) ?? (phase === "preparing" ? null : notInCheckIn(ctx, memberId));
      if (a) return a;
      if (roomId === null) continue;
      const r = room(ctx, roomId, phase === "preparing" ? "preparing" : "open");
      if (r) return r;
      want.set(roomId, (want.get(roomId) ?? 0) + 1);
    }
    // Capacity after the whole batch: those staying + those arriving.
    for (const [roomId, arriving] of want) {
      const r = ctx.rooms[roomId];
      let staying = 0;
      for (const m of Object.values(ctx.members)) {
        if (m.status !== "admitted" || seen.has(m.id)) continue;
        const where = phase === "preparing" ? ctx.round?.plan[m.id] : m.location;
        if (where === roomId) staying++;
      }
      if (staying + arriving > r.capacity) return refuse("ROOM_FULL", `${r.name} would hold ${staying + arriving} (capacity ${r.capacity})`);
    }
    const moves = new Map(e.assignments.map((a) => [a.memberId, a.roomId ?? (phase === "preparing" ? null : MAIN_ROOM)]));
    return pairing(ctx, phase, moves, e.confirmRule);
  },
  preAssign: (ctx, phase, e) => {
    if (e.roomId === null) return null;
    const r = room(ctx, e.roomId, phase === "preparing" ? "preparing" : "open");
    if (r) return r;
    // Someone already admitted is planned right away while preparing, so the room needs space for them now.
    const m = memberByIdentity(ctx, e.identity);
    if (phase === "preparing" && m?.status === "admitted" && ctx.round?.plan[m.id] !== e.roomId) return hasSpace(ctx, e.roomId);
    return null;
  },
  openBreakouts: (ctx, _p, e) => {
    const n = admittedMembers(ctx).filter((m) => m.role === "participant").length;
    if (n < 2) return refuse("TOO_FEW_PARTICIPANTS", "breakout rooms need at least 2 admitted participants");
    if (ctx.settings.supervisedRooms && !e.confirmUnsupervised) {
      const bare = unsupervisedRooms(ctx);
      const staff = admittedMembers(ctx).filter((m) => m.role !== "participant").length;
      if (bare.length)
        return refuse(
          "UNSUPERVISED_ROOM",
          `${bare.map((r) => r.name).join(", ")} would open without a facilitator or co-facilitator (${staff} staff for ${preparingRooms(ctx).length} rooms); assign staff, or confirm to open unsupervised`,
        );
    }
    return null;
  },
  move: (ctx, p, e) => {
    const a = admitted(ctx, e.memberId) ?? notInCheckIn(ctx, e.memberId);
    if (a) return a;
    const t = target(ctx, e.to);
    if (t) return t;
    if (ctx.members[e.memberId].location === e.to) return refuse("ALREADY_THERE", `${ctx.members[e.memberId].name} is already there`);
    return hasSpace(ctx, e.to) ?? pairing(ctx, p, new Map([[e.memberId, e.to]]), e.confirmRule);
  },
  swap: (ctx, p, e) => {
    if (e.memberA === e.memberB) return refuse("INVALID_MESSAGE", "swap needs two different members");
    const a = admitted(ctx, e.memberA) ?? admitted(ctx, e.memberB) ?? notInCheckIn(ctx, e.memberA) ?? notInCheckIn(ctx, e.memberB);
    if (a) return a;
    const [la, lb] = [ctx.members[e.memberA].location, ctx.members[e.memberB].location];
    if (la === lb) return refuse("ALREADY_THERE", "both are in the same place");
    return pairing(
      ctx,
      p,
      new Map([
        [e.memberA, lb],
        [e.memberB, la],
      ]),
      e.confirmRule,
    );
  },
  setPairRule: (ctx, _p, e) => {
    if (e.memberA === e.memberB) return refuse("INVALID_MESSAGE", "a pairing rule needs two different people");
    for (const id of [e.memberA, e.memberB]) {
      const m = ctx.members[id];
      if (!m) return refuse("MEMBER_NOT_FOUND", `no member ${id} in this session`);
      if (m.status !== "admitted" && m.status !== "waiting") return refuse("INVALID_STATE", `${m.name} is ${m.status}`);
    }
    const [a, b] = [ctx.members[e.memberA].name, ctx.members[e.memberB].name];
    const current = pairRuleOf(ctx, e.memberA, e.memberB);
    if (e.rule === null) return current ? null : refuse("NOT_FOUND", `there is no pairing rule between ${a} and ${b}`);
    if (!current && (ctx.pairRules?.length ?? 0) >= MAX_PAIR_RULES) return refuse("INVALID_STATE", `a session holds at most ${MAX_PAIR_RULES} pairing rules`);
    return null;
  },
  closeRoom: (ctx, _p, e) => room(ctx, e.roomId, "open"),
  closeAll: () => null,
  extendRound: () => null,
  cancelClosing: () => null,
  broadcast: (ctx, _p, e) => (e.roomId ? room(ctx, e.roomId, "open") : null),
  visitRoom: (ctx, _p, e) => {
    const a = admitted(ctx, e.actor.memberId) ?? notInCheckIn(ctx, e.actor.memberId, "you");
    if (a) return a;
    const t = target(ctx, e.to);
    if (t) return t;
    if (ctx.members[e.actor.memberId].location === e.to) return refuse("ALREADY_THERE", "you are already there");
    return hasSpace(ctx, e.to);
  },
  resolveHelp: (ctx, _p, e) => {
    const m = ctx.members[e.memberId];
    if (!m) return refuse("MEMBER_NOT_FOUND", `no member ${e.memberId}`);
    return m.helpRequest ? null : refuse("INVALID_STATE", `${m.name} has not asked for help`);
  },
  endSession: () => null,
  loadPlan: () => null,
  nextStep: (ctx) => checkNextStep(ctx),
  chooseRoom: (ctx, phase, e) => {
    const a = admitted(ctx, e.actor.memberId) ?? (phase === "preparing" ? null : notInCheckIn(ctx, e.actor.memberId, "you"));
    if (a) return a;
    if (ctx.round?.mode !== "choose") return refuse("NOT_ALLOWED_BY_SETTINGS", "this round's rooms are assigned by the facilitator");
    const r = room(ctx, e.roomId, phase === "preparing" ? "preparing" : "open");
    if (r) return r;
    const me = ctx.members[e.actor.memberId];
    const already = phase === "preparing" ? ctx.round.plan[me.id] === e.roomId : me.location === e.roomId;
    if (already) return refuse("ALREADY_THERE", "you are already in that room");
    return hasSpace(ctx, e.roomId);
  },
  returnToMain: (ctx, _p, e) => {
    const a = admitted(ctx, e.actor.memberId) ?? notInCheckIn(ctx, e.actor.memberId, "you");
    if (a) return a;
    if (!ctx.settings.allowSelfReturn) return refuse("NOT_ALLOWED_BY_SETTINGS", "the facilitator has turned off returning by yourself");
    return ctx.members[e.actor.memberId].location === MAIN_ROOM ? refuse("ALREADY_THERE", "you are already in the main room") : null;
  },
  returnToRoom: (ctx, _p, e) => {
    const a = admitted(ctx, e.actor.memberId) ?? notInCheckIn(ctx, e.actor.memberId, "you");
    if (a) return a;
    const me = ctx.members[e.actor.memberId];
    if (me.breakoutRoom === null) return refuse("INVALID_STATE", "you have no breakout room to go back to in this round");
    if (me.location === me.breakoutRoom) return refuse("ALREADY_THERE", "you are already in your breakout room");
    return room(ctx, me.breakoutRoom, "open") ?? hasSpace(ctx, me.breakoutRoom);
  },
  raiseHand: (ctx, _p, e) => admitted(ctx, e.actor.memberId),
  setAlias: (ctx, _p, e) => admitted(ctx, e.actor.memberId),
  requestCheckIn: (ctx, _p, e) => admitted(ctx, e.actor.memberId) ?? notInCheckIn(ctx, e.actor.memberId, "you"),
  startCheckIn: (ctx, _p, e) => {
    const a = admitted(ctx, e.memberId) ?? admitted(ctx, e.actor.memberId);
    if (a) return a;
    if (ctx.members[e.memberId].role !== "participant") return refuse("INVALID_STATE", "a private check-in is with a client");
    return notInCheckIn(ctx, e.memberId) ?? notInCheckIn(ctx, e.actor.memberId, "you");
  },
  endCheckIn: (ctx, _p, e) => (ctx.checkIns[e.checkInId] ? null : refuse("NOT_FOUND", `no private check-in ${e.checkInId}`)),
  lowerHand: (ctx, _p, e) => {
    const a = admitted(ctx, e.actor.memberId);
    if (a) return a;
    const target = e.memberId ?? e.actor.memberId;
    if (target !== e.actor.memberId && e.actor.role === "participant") return refuse("FORBIDDEN", "only staff lower someone else's hand");
    return ctx.members[target] ? null : refuse("MEMBER_NOT_FOUND", `no member ${target}`);
  },
  setMedia: (ctx, _p, e) => {
    const me = ctx.members[e.actor.memberId];
    if (!me || (me.status !== "admitted" && me.status !== "waiting")) return refuse("NOT_ADMITTED", "you are not in the session");
    if (e.mic && me.blocked.audio) return refuse("MEDIA_BLOCKED", "the facilitator turned your microphone off; they can ask you to unmute");
    if (e.cam && me.blocked.video) return refuse("MEDIA_BLOCKED", "the facilitator turned your camera off; they can allow it again");
    if (e.screen && me.blocked.screen) return refuse("MEDIA_BLOCKED", "the facilitator stopped your screen share; they can allow it again");
    return null;
  },
  sendChat: (ctx, _p, e) => {
    const a = admitted(ctx, e.actor.memberId);
    if (a) return a;
    const c = parseChannel(e.channel);
    if (!c) return refuse("INVALID_MESSAGE", "channel: room:<place> or private:<memberId>");
    const me = ctx.members[e.actor.memberId];
    if (c.kind === "private") {
      const other = ctx.members[c.memberId];
      if (other?.role !== "participant") return refuse("MEMBER_NOT_FOUND", `no participant ${c.memberId}`);
      if (me.role === "participant" && c.memberId !== me.id) return refuse("FORBIDDEN", "you can write privately to the facilitators only");
      return null;
    }
    if (me.role === "participant" && c.place !== me.location) return refuse("FORBIDDEN", "you can write only in the chat of the room you are in");
    return target(ctx, c.place);
  },
  deleteChat: (ctx, _p, e) => (ctx.chat[e.messageId] ? null : refuse("NOT_FOUND", `no chat message ${e.messageId}`)),
  blockMedia: (ctx, _p, e) => moderated(ctx, e.memberId),
  allowMedia: (ctx, _p, e) => moderated(ctx, e.memberId),
  muteAll: (ctx, _p, e) => {
    const place = placeOf(ctx, e);
    return place === null ? refuse("INVALID_STATE", "you are not in a room") : target(ctx, place);
  },
  spotlight: (ctx, _p, e) => {
    if (e.memberId === null) {
      const place = e.location ?? ctx.members[e.actor.memberId]?.location ?? null;
      return place === null ? refuse("INVALID_STATE", "you are not in a room") : target(ctx, place);
    }
    const a = admitted(ctx, e.memberId);
    if (a) return a;
    const where = ctx.members[e.memberId].location;
    if (e.location !== undefined && e.location !== where) return refuse("INVALID_STATE", `${ctx.members[e.memberId].name} is not in that room`);
    return null;
  },
  requestHelp: (ctx, _p, e) => admitted(ctx, e.actor.memberId),
  leave: (ctx, _p, e) => {
    const m = ctx.members[e.actor.memberId];
    if (!m || m.status === "left") return refuse("INVALID_STATE", "you are not in this session");
    return null;
  },
};

/** null when the command may run now; otherwise the reason it may not. Role first, then state, then data. */
export function checkCommand(ctx: SessionContext, phase: SessionPhase, e: CommandEvent): Refusal | null {
  const allowedRoles = COMMAND_ROLES[e.type];
  if (e.actor.role !== "system") {
    if (!allowedRoles.includes(e.actor.role)) return refuse("FORBIDDEN", `a ${e.actor.role} may not ${e.type}`);
    const self = ctx.members[e.actor.memberId];
    if (!self) return refuse("UNAUTHENTICATED", "you are not a member of this session");
    // The role that counts is the one the session knows this member by, not the one claimed.
    if (self.role !== e.actor.role) return refuse("FORBIDDEN", `${self.name} is a ${self.role}, not a ${e.actor.role}`);
    // Ending a session marks everyone as left: say that the session ended, not that the caller left.
    if (phase === "ended") return refuse("SESSION_ENDED", "the session has ended");
    if (self.status === "denied" || self.status === "left") return refuse("FORBIDDEN", `you are ${self.status}`);
    if (self.status === "waiting" && e.type !== "leave") return refuse("NOT_ADMITTED", "you are still in the waiting room");
  }
  if (phase === "ended") return refuse("SESSION_ENDED", "the session has ended");
  if (!PHASES[e.type].includes(phase))
    return refuse("INVALID_STATE", `${e.type} is not possible while the session is in ${phase} (possible in: ${PHASES[e.type].join(", ")})`);
  return (CHECKS[e.type] as Check<CommandType>)(ctx, phase, e as never);
}
