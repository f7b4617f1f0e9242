/**
 * The session's data, as the state machine holds it. Pure data: no I/O, no clocks (time arrives in events).
 * Objects are replaced, never mutated, so the Durable Object can diff two contexts by reference.
 */
import {
  COMMAND_TYPES,
  DEFAULT_SETTINGS,
  MAIN_ROOM,
  MAX_ROOM_CAPACITY,
  type ChatMessage,
  type CheckInPublic,
  type Command,
  type MediaProvider,
  type MediaRoomPublic,
  type MemberPublic,
  type PairRule,
  type PlanPublic,
  type Role,
  type RoomPublic,
  type RoundPublic,
  type SessionPhase,
  type Settings,
} from "../../lib/protocol";

export type Member = MemberPublic;
export type Room = RoomPublic;
export type Round = RoundPublic;

export interface SessionContext {
  sessionId: string;
  title: string;
  createdAt: number;
  createdBy: string;
  endedAt: number | null;
  endReason: string | null;
  settings: Settings;
  members: Record<string, Member>;
  rooms: Record<string, Room>;
  round: Round | null;
  roundsCompleted: number;
  /** identity → breakout room id, applied when that person is (or becomes) admitted. */
  preAssignments: Record<string, string>;
  nextMemberNumber: number;
  nextRoomNumber: number;
  /** Seed for the deterministic shuffle of automatic assignment (set once at creation). */
  seed: number;
  mediaProvider: MediaProvider;
  /** Media rooms at the provider, by place key ("main" or room id). */
  media: Record<string, MediaRoomPublic>;
  /** Invites someone removed had used (new joins with them wait for staff), and those revoked. */
  invites: Record<string, InviteRecord>;
  /** The chat the session holds (the latest MAX_CHAT_MESSAGES), by message id. */
  chat: Record<string, ChatRecord>;
  nextChatNumber: number;
  /** Featured member per place ("main" or a room id). */
  spotlights: Record<string, string>;
  /** Declines of the group agreement at the door: a count only (who declined is not kept). */
  agreementDeclines: number;
  /** Private check-ins going on, by id ("k<n>", also their place and media room key). */
  checkIns: Record<string, CheckIn>;
  nextCheckInNumber: number;
  /** The session plan being run (logic/plan.ts); absent in sessions stored before plans, which is the same as null. */
  plan?: PlanPublic | null;
  /** Pairing rules (staff only), one per pair; absent in sessions stored before them, which is the same as none. */
  pairRules?: PairRule[];
}

export type CheckIn = CheckInPublic;

/** A chat message as the session keeps it: with who may read it (participants; staff read everything). */
export interface ChatRecord extends ChatMessage {
  /** "*": everyone in the session; else the participants who were in the channel's place when it was sent. */
  audience: "*" | string[];
}

export interface InviteRecord {
  /** Members who joined with it and were removed. */
  removed: number;
  revokedAt: number | null;
}

export interface SessionInput {
  sessionId: string;
  title: string;
  createdAt: number;
  createdBy: string;
  settings?: Partial<Settings>;
  seed: number;
  mediaProvider: MediaProvider;
}

/** Who causes an event: a member (with the role the session knows them by) or the engine itself. */
export type Actor = { memberId: string; role: Role } | { memberId: "system"; role: "system" };
export const SYSTEM: Actor = { memberId: "system", role: "system" };

export type CommandEvent = Command & { actor: Actor; now: number };

/** Events the engine itself feeds the machine (never accepted from a client). */
export type SystemEvent =
  /** `agreementHash`: the group agreement they accepted at the door (the Durable Object checked it is the current text). */
  | {
      type: "memberJoined";
      identity: string;
      name: string;
      role: Role;
      inviteId?: string | null;
      agreementHash?: string | null;
      alias?: string | null;
      now: number;
    }
  /** Someone at the door declined the group agreement: counted, nothing else kept. */
  | { type: "agreementDeclined"; now: number }
  /** Twilio reported `identity` connected to a media room of a place they are not in (they were disconnected). */
  | { type: "mediaIntruder"; identity: string; key: string; now: number }
  | { type: "connection"; memberId: string; connected: boolean; now: number }
  | { type: "arrival"; memberId: string; mediaRoom: string | null; now: number }
  | { type: "quality"; memberId: string; level: number; now: number }
  | { type: "mediaProblem"; memberId: string; code: string | null; now: number }
  | { type: "mediaUpdated"; media: MediaRoomPublic; now: number }
  | { type: "tick"; now: number };

export type SessionEvent = CommandEvent | SystemEvent;

const COMMAND_TYPE_SET: ReadonlySet<string> = new Set(COMMAND_TYPES);
export const isCommandEvent = (e: SessionEvent): e is CommandEvent => COMMAND_TYPE_SET.has(e.type);

export function initialContext(input: SessionInput): SessionContext {
  return {
    sessionId: input.sessionId,
    title: input.title,
    createdAt: input.createdAt,
    createdBy: input.createdBy,
    endedAt: null,
    endReason: null,
    settings: { ...DEFAULT_SETTINGS, ...input.settings },
    members: {},
    rooms: {},
    round: null,
    roundsCompleted: 0,
    preAssignments: {},
    nextMemberNumber: 1,
    nextRoomNumber: 1,
    seed: input.seed >>> 0,
    mediaProvider: input.mediaProvider,
    media: {},
    invites: {},
    chat: {},
    nextChatNumber: 1,
    spotlights: {},
    agreementDeclines: 0,
    checkIns: {},
    nextCheckInNumber: 1,
  };
}

export const NO_MEDIA = { mic: false, cam: false, screen: false } as const;
export const NO_BLOCKS = { audio: false, video: false, screen: false } as const;

/**
 * A context stored by an earlier version, brought up to the current shape (fields added since get their defaults):
 * the engine then never meets a missing field.
 */
export function normalizeContext(ctx: SessionContext): SessionContext {
  const members: Record<string, Member> = {};
  let changed = false;
  for (const [id, m] of Object.entries(ctx.members)) {
    if (
      m.media &&
      m.blocked &&
      m.hand !== undefined &&
      m.breakoutRoom !== undefined &&
      m.inviteId !== undefined &&
      m.joinNote !== undefined &&
      m.agreement !== undefined &&
      m.alias !== undefined &&
      m.checkInRequest !== undefined
    )
      members[id] = m;
    else {
      changed = true;
      const old: Partial<Member> = m;
      members[id] = {
        ...m,
        inviteId: old.inviteId ?? null,
        joinNote: old.joinNote ?? null,
        media: old.media ?? NO_MEDIA,
        blocked: old.blocked ?? NO_BLOCKS,
        hand: old.hand ?? null,
        breakoutRoom: old.breakoutRoom ?? null,
        agreement: old.agreement ?? null,
        alias: old.alias ?? null,
        checkInRequest: old.checkInRequest ?? null,
      };
    }
  }
  const missing =
    ctx.invites === undefined ||
    ctx.chat === undefined ||
    ctx.nextChatNumber === undefined ||
    ctx.spotlights === undefined ||
    ctx.agreementDeclines === undefined ||
    ctx.checkIns === undefined ||
    Object.keys(DEFAULT_SETTINGS).some((k) => !(k in ctx.settings));
  if (!changed && !missing) return ctx;
  return {
    ...ctx,
    // Settings added since: their defaults (a stored session gets the default agreement).
    settings: { ...DEFAULT_SETTINGS, ...ctx.settings },
    agreementDeclines: ctx.agreementDeclines ?? 0,
    checkIns: ctx.checkIns ?? {},
    nextCheckInNumber: ctx.nextCheckInNumber ?? 1,
    members: changed ? members : ctx.members,
    invites: ctx.invites ?? {},
    chat: ctx.chat ?? {},
    nextChatNumber: ctx.nextChatNumber ?? 1,
    spotlights: ctx.spotlights ?? {},
  };
}

/**
 * The phase, read from the data alone. The machine's state value says the same thing (a test holds them equal);
 * guards and actions use this because XState hands them the context, not the state.
 */
export function contextPhase(ctx: SessionContext): SessionPhase {
  if (ctx.endedAt !== null) return "ended";
  if (!ctx.round) return "main";
  if (ctx.round.openedAt === null) return "preparing";
  return ctx.round.closesAt === null ? "open" : "closing";
}

// ------------------------------------------------------------------------------------------------------------
// Read helpers shared by rules, actions, views and invariants.
// ------------------------------------------------------------------------------------------------------------

export const admittedMembers = (ctx: SessionContext) => Object.values(ctx.members).filter((m) => m.status === "admitted");

export const openRooms = (ctx: SessionContext) => Object.values(ctx.rooms).filter((r) => r.status === "open");

export const preparingRooms = (ctx: SessionContext) => Object.values(ctx.rooms).filter((r) => r.status === "preparing");

/** How many admitted members are in a place now. */
export function occupancy(ctx: SessionContext, location: string): number {
  let n = 0;
  for (const m of Object.values(ctx.members)) if (m.status === "admitted" && m.location === location) n++;
  return n;
}

/** How many are planned for a room while preparing. */
export function plannedCount(ctx: SessionContext, roomId: string): number {
  if (!ctx.round) return 0;
  let n = 0;
  for (const r of Object.values(ctx.round.plan)) if (r === roomId) n++;
  return n;
}

export function memberByIdentity(ctx: SessionContext, identity: string): Member | undefined {
  for (const m of Object.values(ctx.members)) if (m.identity === identity) return m;
  return undefined;
}

/** The private check-in a member is in now, or undefined. */
export const checkInOf = (ctx: SessionContext, memberId: string): CheckIn | undefined => {
  const loc = ctx.members[memberId]?.location;
  return loc ? ctx.checkIns[loc] : undefined;
};

export function placeName(ctx: SessionContext, location: string | null): string | null {
  if (location === null) return null;
  if (location === MAIN_ROOM) return "Main room";
  if (ctx.checkIns[location]) return "Private check-in";
  return ctx.rooms[location]?.name ?? null;
}

export function roomCapacity(ctx: SessionContext, capacity: number | null | undefined): number {
  return Math.min(capacity ?? ctx.settings.maxParticipantsPerRoom, MAX_ROOM_CAPACITY);
}

export type { SessionPhase };
