/**
 * The MindBloom session protocol: every command and every message that crosses a WebSocket or an HTTP body.
 * One module, imported by the Worker, the session Durable Object and the web client, so the three never disagree.
 * Schemas are zod; types are inferred from them. Keep this file free of runtime-specific imports.
 */
import { z } from "zod";

export const PROTOCOL_VERSION = 2;

/**
 * Keepalive frames. The session answers PING with PONG without running any code (the runtime's WebSocket
 * auto-response), so a connected but idle session can hibernate: both must be sent byte for byte as written here.
 */
export const PING_FRAME = '{"type":"ping"}';
export const PONG_FRAME = '{"type":"pong"}';

/**
 * WebSocket close codes the session uses. 4000–4999: do not reconnect with this ticket (the reason says why);
 * 1008: this connection broke the message budget (a new one may connect).
 */
export const CLOSE_CODES = {
  left: 4000,
  ended: 4001,
  removed: 4003,
  /** A newer connection of the same member took this one's place (a member holds at most MAX_SOCKETS_PER_MEMBER). */
  replaced: 4008,
  budget: 1008,
} as const;

/** Sockets one member may hold at once (several tabs, a reconnect overlapping the old socket); the newest wins. */
export const MAX_SOCKETS_PER_MEMBER = 3;

/** Twilio Group rooms hold at most 50 participants; the main room must hold everyone, so a session does too. */
export const MAX_ROOM_CAPACITY = 50;
export const MAX_BREAKOUT_ROOMS = 50;
export const MAX_MESSAGE_BYTES = 16 * 1024;
/** Chat messages the session keeps (oldest dropped first); browsers keep what they received. */
export const MAX_CHAT_MESSAGES = 500;
export const MAX_CHAT_TEXT = 1000;
export const MAIN_ROOM = "main" as const;

/**
 * HTTP media-token requests per member: MEDIA_TOKEN_REQUESTS_PER_MINUTE (default 60) in each clock-aligned minute.
 * Counted by the session, not by a rate-limiting binding: the session already holds every member, so the count is exact and
 * costs no extra call per request (the Worker has verified the ticket before asking). The Worker derives Retry-After
 * from the same window.
 */
export const MEDIA_TOKEN_LIMIT = { perWindow: 60, windowMs: 60_000 } as const;

// ---------------------------------------------------------------------------------------------------------------
// Shared vocabulary
// ---------------------------------------------------------------------------------------------------------------

export const RoleSchema = z.enum(["facilitator", "cofacilitator", "participant"]);
export type Role = z.infer<typeof RoleSchema>;
export const isStaff = (role: Role) => role !== "participant";

/**
 * Member, room and identity ids. Names of Object.prototype's properties ("__proto__", "constructor", "toString"…)
 * are refused here, at the edge, so no id can ever reach a record lookup and find something that is not there.
 */
export const IdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:@-]+$/, "ids are letters, digits and _ . : @ -")
  .refine((id) => !Object.hasOwn(Object.prototype, id), "this id is reserved");
const Id = IdSchema;
/** A person's identity as the session knows it: "user:<IdP subject>" or "guest:…" (printable ASCII, no spaces). */
export const IdentitySchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, "identities are printable characters without spaces")
  .refine((id) => !Object.hasOwn(Object.prototype, id), "this identity is reserved");
const Name = z.string().trim().min(1).max(80);
const Text = z.string().trim().min(1).max(1000);
/** A place a member can be: the main room or a breakout room id. */
const Location = z.union([z.literal(MAIN_ROOM), Id]);

export const AssignmentModeSchema = z.enum(["auto", "manual", "choose"]);
export type AssignmentMode = z.infer<typeof AssignmentModeSchema>;

/** Longest group agreement a facilitator can set (characters). */
export const MAX_AGREEMENT_CHARS = 4000;

/**
 * The group agreement a new session starts with: what every client accepts at the door (the facilitator can change
 * it in the session's settings; the text accepted is recorded by its SHA-256).
 */
export const DEFAULT_AGREEMENT = [
  "This group is confidential. What is said here, and who is here, stays here.",
  "No recording, screenshots or photos of the session or of anyone in it, and nobody else in the room or within hearing.",
  "Use the name you choose to be known by; do not share anyone's details outside the group.",
  "If you are in danger or thinking of harming yourself, tell the facilitator (you can ask to talk privately) and call your local emergency number. The facilitator may contact emergency services if someone's safety is at risk.",
].join("\n\n");

/** SHA-256 of the agreement's exact text (UTF-8), as lowercase hex: what a join presents and D1 records. */
export async function agreementHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export const AgreementHashSchema = z.string().regex(/^[0-9a-f]{64}$/, "agreementHash: the SHA-256 (hex) of the agreement text");

export const SettingsSchema = z.object({
  /** Admit joiners without a facilitator's decision. */
  autoAdmit: z.boolean(),
  /** What happens to someone admitted while breakout rooms are open. */
  lateJoiners: z.enum(["auto", "main"]),
  /** Participants may leave their breakout room for the main room by themselves. */
  allowSelfReturn: z.boolean(),
  /** Default closing countdown for "close all", seconds. */
  closingCountdownSeconds: z.number().int().min(0).max(300),
  /** An open room empty for this long closes itself (cost control), seconds. */
  emptyRoomTimeoutSeconds: z.number().int().min(10).max(3600),
  /** Warning before a timed round ends, seconds. */
  warningSeconds: z.number().int().min(0).max(600),
  /** The session ends by itself after this long (cost control); null for no limit. */
  maxSessionSeconds: z.number().int().min(60).max(86400).nullable(),
  /** Upper bound on breakout room size (Twilio Group rooms hold 50). */
  maxParticipantsPerRoom: z.number().int().min(1).max(MAX_ROOM_CAPACITY),
  /**
   * Keep chat messages in the session record (D1). Off by default: therapy groups are confidential, and chat then
   * lives only in the session itself (bounded) and in the browsers that received it.
   */
  keepChatInRecord: z.boolean(),
  /**
   * How clients appear to other clients: "names" (the name they joined with), "firstNames" (their alias, else the
   * first word of their name) or "aliases" (only the alias they chose, else "Member <n>"). Staff always see both.
   */
  roster: z.enum(["names", "firstNames", "aliases"]),
  /**
   * Every breakout room has a facilitator or co-facilitator in it: assignment places staff first (one per room),
   * opening rooms without staff is refused (UNSUPERVISED_ROOM) unless confirmed, and staff hear when a room loses its
   * last staff member.
   */
  supervisedRooms: z.boolean(),
  /** The group agreement every client accepts before joining (shown on the join page). */
  agreement: z.string().trim().min(1).max(MAX_AGREEMENT_CHARS),
});
export type Settings = z.infer<typeof SettingsSchema>;

export const DEFAULT_SETTINGS: Settings = {
  autoAdmit: false,
  lateJoiners: "main",
  allowSelfReturn: true,
  closingCountdownSeconds: 60,
  emptyRoomTimeoutSeconds: 120,
  warningSeconds: 60,
  maxSessionSeconds: 4 * 3600,
  maxParticipantsPerRoom: MAX_ROOM_CAPACITY,
  keepChatInRecord: false,
  roster: "names",
  supervisedRooms: false,
  agreement: DEFAULT_AGREEMENT,
};

export type RosterMode = Settings["roster"];

/** What someone holding an invite may know before joining (POST /api/sessions/:id/preview): nothing about anyone else. */
export interface SessionPreview {
  title: string;
  facilitatorName: string;
  phase: string;
  ended: boolean;
  /** The group agreement a client accepts at the door, and the SHA-256 of its exact text that the join sends back. */
  agreement: { text: string; hash: string };
  roster: RosterMode;
}

/**
 * The name other clients see for a member under the session's roster setting. Staff are shown by their name (they are
 * not clients); a client's identity and (in "firstNames"/"aliases") full name never reach another client.
 */
export function rosterName(m: { id: string; name: string; role: Role; alias: string | null }, roster: RosterMode): string {
  if (m.role !== "participant" || roster === "names") return m.name;
  if (m.alias) return m.alias;
  if (roster === "firstNames") return m.name.trim().split(/\s+/)[0] ?? m.name;
  return `Member ${m.id.replace(/^m/, "")}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Session plans (recurring groups): ordered steps a facilitator saves and runs one "nextStep" at a time.
// ---------------------------------------------------------------------------------------------------------------

export const MAX_PLAN_STEPS = 20;
const StepMinutes = z
  .number()
  .int()
  .min(30)
  .max(4 * 3600)
  .nullable();

/**
 * One step of a plan. "main": everyone in the main room (open rooms close, with the step's countdown); its duration is
 * the facilitator's guide (shown, not enforced). "breakouts": rooms by count or by size (pairs: roomSize 2), the mode,
 * and the round's timer (the round ends by itself); "auto" and "choose" rounds open at once, "manual" ones wait in
 * preparing for the facilitator's placements.
 */
export const PlanStepSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("main"),
      title: Name,
      durationSeconds: StepMinutes,
      /** Countdown before open rooms close when this step starts; default 0 (at once). */
      closingCountdownSeconds: z.number().int().min(0).max(300).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal("breakouts"),
      title: Name,
      durationSeconds: StepMinutes,
      mode: AssignmentModeSchema,
      roomCount: z.number().int().min(1).max(MAX_BREAKOUT_ROOMS).optional(),
      roomSize: z.number().int().min(2).max(MAX_ROOM_CAPACITY).optional(),
      /** Facilitators and co-facilitators are placed in rooms too (auto mode). */
      includeStaff: z.boolean().optional(),
    })
    .strict()
    .refine((s) => (s.roomCount === undefined) !== (s.roomSize === undefined), { message: "give either roomCount or roomSize" }),
]);
export type PlanStep = z.infer<typeof PlanStepSchema>;

export const PlanBodySchema = z
  .object({
    name: z.string().trim().min(1).max(120),
    steps: z.array(PlanStepSchema).min(1).max(MAX_PLAN_STEPS),
  })
  .strict();
export type PlanBody = z.infer<typeof PlanBodySchema>;

/** A plan running in a session (staff see it; it lives in the session's persisted state). */
export interface PlanPublic {
  id: string;
  name: string;
  steps: PlanStep[];
  /** The step running now; -1 before the first "nextStep". */
  index: number;
  /** When the current step started (session clock), or null before the first. */
  stepStartedAt: number | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Pairing rules: who must not share a breakout room, and who must (staff only).
// ---------------------------------------------------------------------------------------------------------------

export const MAX_PAIR_RULES = 100;
export const PairRuleKindSchema = z.enum(["apart", "together"]);
export type PairRuleKind = z.infer<typeof PairRuleKindSchema>;

/** One rule between two members (memberA sorts before memberB: one rule per pair). */
export interface PairRule {
  memberA: string;
  memberB: string;
  rule: PairRuleKind;
}

// ---------------------------------------------------------------------------------------------------------------
// Commands: what a client (or the HTTP API) asks the session to do. Each is authorised by role and state.
// ---------------------------------------------------------------------------------------------------------------

export const CommandSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("admit"), memberId: Id }).strict(),
  z.object({ type: z.literal("deny"), memberId: Id }).strict(),
  /** Remove someone from the session; with revokeInvite, the invite they joined with stops working too. */
  z.object({ type: z.literal("removeMember"), memberId: Id, revokeInvite: z.boolean().optional() }).strict(),
  z.object({ type: z.literal("updateSettings"), settings: SettingsSchema.partial().strict() }).strict(),
  z
    .object({
      type: z.literal("createBreakouts"),
      /** Either a count (rooms named "Room 1".."Room n") or explicit names. */
      count: z.number().int().min(1).max(MAX_BREAKOUT_ROOMS).optional(),
      names: z.array(Name).min(1).max(MAX_BREAKOUT_ROOMS).optional(),
      mode: AssignmentModeSchema.default("auto"),
      /** Per-room capacity; null means the session's maxParticipantsPerRoom. */
      capacity: z.number().int().min(1).max(MAX_ROOM_CAPACITY).nullable().optional(),
      /** Round length; null for an untimed round. */
      durationSeconds: z
        .number()
        .int()
        .min(30)
        .max(4 * 3600)
        .nullable()
        .optional(),
      /** Facilitators/co-facilitators to include in automatic assignment (they stay out otherwise). */
      includeStaff: z.array(Id).max(MAX_ROOM_CAPACITY).optional(),
    })
    .strict()
    .refine((c) => (c.count === undefined) !== (c.names === undefined), {
      message: "give either count or names",
    }),
  z.object({ type: z.literal("addRoom"), name: Name.optional() }).strict(),
  z.object({ type: z.literal("renameRoom"), roomId: Id, name: Name }).strict(),
  z.object({ type: z.literal("deleteRoom"), roomId: Id }).strict(),
  z.object({ type: z.literal("autoAssign") }).strict(),
  /**
   * Manual assignment while preparing (roomId null = unassigned/main). Manual placements (assign, bulkAssign, move,
   * swap) that break a pairing rule are refused (PAIRING_RULE) unless confirmRule is set.
   */
  z.object({ type: z.literal("assign"), memberId: Id, roomId: Id.nullable(), confirmRule: z.boolean().optional() }).strict(),
  z
    .object({
      type: z.literal("bulkAssign"),
      assignments: z
        .array(z.object({ memberId: Id, roomId: Id.nullable() }).strict())
        .min(1)
        .max(MAX_ROOM_CAPACITY),
      confirmRule: z.boolean().optional(),
    })
    .strict(),
  /** Assign by identity before that person has joined. */
  z.object({ type: z.literal("preAssign"), identity: IdentitySchema, roomId: Id.nullable() }).strict(),
  /** With supervisedRooms on, confirmUnsupervised opens rooms that have no staff member planned (else UNSUPERVISED_ROOM). */
  z.object({ type: z.literal("openBreakouts"), confirmUnsupervised: z.boolean().optional() }).strict(),
  /** Live move while rooms are open. */
  z.object({ type: z.literal("move"), memberId: Id, to: Location, confirmRule: z.boolean().optional() }).strict(),
  z.object({ type: z.literal("swap"), memberA: Id, memberB: Id, confirmRule: z.boolean().optional() }).strict(),
  /**
   * A pairing rule between two people (staff only; clients never learn of it): "apart" keeps them out of the same
   * breakout room, "together" puts them in the same one; null removes the rule. Automatic assignment honours the rules.
   */
  z.object({ type: z.literal("setPairRule"), memberA: Id, memberB: Id, rule: PairRuleKindSchema.nullable() }).strict(),
  z.object({ type: z.literal("closeRoom"), roomId: Id }).strict(),
  z.object({ type: z.literal("closeAll"), countdownSeconds: z.number().int().min(0).max(300).optional() }).strict(),
  z.object({ type: z.literal("extendRound"), seconds: z.number().int().min(30).max(3600) }).strict(),
  /** Stop the closing countdown and keep the rooms open (the round keeps its timer; one that had run out goes on untimed). */
  z.object({ type: z.literal("cancelClosing") }).strict(),
  z.object({ type: z.literal("broadcast"), text: Text, roomId: Id.nullable().optional() }).strict(),
  z.object({ type: z.literal("visitRoom"), to: Location }).strict(),
  z.object({ type: z.literal("resolveHelp"), memberId: Id }).strict(),
  z.object({ type: z.literal("endSession") }).strict(),
  /** Put a saved plan in the session (replacing one there); it starts at its first "nextStep". */
  z.object({ type: z.literal("loadPlan"), plan: PlanBodySchema.extend({ id: Id }).strict() }).strict(),
  /** Run the plan's next step: its rooms, mode and timer, through the breakout commands. */
  z.object({ type: z.literal("nextStep"), confirmUnsupervised: z.boolean().optional() }).strict(),
  // Chat (everyone), moderation (staff)
  /**
   * A chat message. Channels: "room:<place>" (the main room or a breakout room; participants only their own place),
   * "private:<memberId>" (a participant and the staff; a participant only their own).
   */
  z
    .object({
      type: z.literal("sendChat"),
      channel: z.string().regex(/^(room|private):[A-Za-z0-9_.:@-]{1,64}$/, "channel: room:<place> or private:<memberId>"),
      text: z.string().trim().min(1).max(MAX_CHAT_TEXT),
    })
    .strict(),
  z.object({ type: z.literal("deleteChat"), messageId: Id }).strict(),
  /** Turn off (block) someone's microphone, camera or screen share; it holds until staff allow it again. */
  z.object({ type: z.literal("blockMedia"), memberId: Id, kind: z.enum(["audio", "video", "screen"]) }).strict(),
  /** Lift a block (for audio: "ask to unmute"; the person turns it on themselves). */
  z.object({ type: z.literal("allowMedia"), memberId: Id, kind: z.enum(["audio", "video", "screen"]) }).strict(),
  /** Mute every participant in a place (default: where the caller is). */
  z.object({ type: z.literal("muteAll"), location: Location.optional() }).strict(),
  /** Feature one person's video for everyone in their place (null: stop). */
  z.object({ type: z.literal("spotlight"), memberId: Id.nullable(), location: Location.optional() }).strict(),
  /** Lower someone's hand (staff), or your own (anyone). */
  z.object({ type: z.literal("lowerHand"), memberId: Id.optional() }).strict(),
  /** Your own microphone, camera and screen share, as your device has them (what others' tiles show). */
  z.object({ type: z.literal("setMedia"), mic: z.boolean().optional(), cam: z.boolean().optional(), screen: z.boolean().optional() }).strict(),
  // Participant commands
  z.object({ type: z.literal("chooseRoom"), roomId: Id }).strict(),
  z.object({ type: z.literal("returnToMain") }).strict(),
  /** Back to the breakout room you were placed in this round, while it is open. */
  z.object({ type: z.literal("returnToRoom") }).strict(),
  z.object({ type: z.literal("raiseHand") }).strict(),
  /** Ask discreetly to talk to the therapist alone: only staff learn of it. */
  z.object({ type: z.literal("requestCheckIn") }).strict(),
  /** Open a private room with one client (from main or during breakouts); the caller goes in with them. */
  z.object({ type: z.literal("startCheckIn"), memberId: Id }).strict(),
  /** End a private check-in: the client goes back exactly where they were (their breakout room if still open, else main). */
  z.object({ type: z.literal("endCheckIn"), checkInId: Id }).strict(),
  /** How you appear to the other clients (roster "firstNames"/"aliases"); null: the default for the setting. */
  z.object({ type: z.literal("setAlias"), alias: Name.nullable() }).strict(),
  z.object({ type: z.literal("requestHelp"), message: z.string().trim().max(280).optional() }).strict(),
  z.object({ type: z.literal("leave") }).strict(),
]);
export type Command = z.infer<typeof CommandSchema>;
export type CommandType = Command["type"];

/** What the protocol knows about each command besides its shape: who may run it, and whether a success is audited. */
export interface CommandSpec {
  /** Roles that may run it (the session checks the role it knows the member by, not a claimed one). */
  roles: readonly Role[];
  /** Breakout operations and admission decisions: audited when they succeed (refusals always are). */
  audited: boolean;
}

const STAFF: readonly Role[] = ["facilitator", "cofacilitator"];

/**
 * Every command, from the one source: its type comes from CommandSchema (the compiler holds this table complete), its
 * phases from the session machine (durable-objects/logic/rules.ts derives them). Documented in docs/protocol.md; walked
 * in full by the authorisation tests over both transports.
 */
export const COMMANDS: { readonly [T in CommandType]: CommandSpec } = {
  admit: { roles: STAFF, audited: true },
  deny: { roles: STAFF, audited: true },
  removeMember: { roles: STAFF, audited: true },
  updateSettings: { roles: ["facilitator"], audited: true },
  createBreakouts: { roles: STAFF, audited: true },
  addRoom: { roles: STAFF, audited: true },
  renameRoom: { roles: STAFF, audited: true },
  deleteRoom: { roles: STAFF, audited: true },
  autoAssign: { roles: STAFF, audited: true },
  assign: { roles: STAFF, audited: true },
  bulkAssign: { roles: STAFF, audited: true },
  preAssign: { roles: STAFF, audited: true },
  openBreakouts: { roles: STAFF, audited: true },
  move: { roles: STAFF, audited: true },
  swap: { roles: STAFF, audited: true },
  setPairRule: { roles: STAFF, audited: true },
  closeRoom: { roles: STAFF, audited: true },
  closeAll: { roles: STAFF, audited: true },
  extendRound: { roles: STAFF, audited: true },
  cancelClosing: { roles: STAFF, audited: true },
  broadcast: { roles: STAFF, audited: false },
  visitRoom: { roles: STAFF, audited: true },
  resolveHelp: { roles: STAFF, audited: false },
  endSession: { roles: ["facilitator"], audited: true },
  loadPlan: { roles: STAFF, audited: true },
  nextStep: { roles: STAFF, audited: true },
  sendChat: { roles: ["facilitator", "cofacilitator", "participant"], audited: false },
  deleteChat: { roles: STAFF, audited: true },
  blockMedia: { roles: STAFF, audited: true },
  allowMedia: { roles: STAFF, audited: true },
  muteAll: { roles: STAFF, audited: true },
  spotlight: { roles: STAFF, audited: false },
  lowerHand: { roles: ["facilitator", "cofacilitator", "participant"], audited: false },
  setMedia: { roles: ["facilitator", "cofacilitator", "participant"], audited: false },
  chooseRoom: { roles: ["participant"], audited: true },
  returnToMain: { roles: ["participant"], audited: true },
  returnToRoom: { roles: ["participant"], audited: true },
  raiseHand: { roles: ["participant"], audited: false },
  setAlias: { roles: ["participant"], audited: false },
  requestCheckIn: { roles: ["participant"], audited: false },
  startCheckIn: { roles: STAFF, audited: true },
  endCheckIn: { roles: STAFF, audited: true },
  requestHelp: { roles: ["participant"], audited: false },
  leave: { roles: ["facilitator", "cofacilitator", "participant"], audited: false },
};

export const COMMAND_TYPES: readonly CommandType[] = Object.keys(COMMANDS) as CommandType[];
export const COMMAND_ROLES = Object.fromEntries(COMMAND_TYPES.map((t) => [t, COMMANDS[t].roles])) as { readonly [T in CommandType]: readonly Role[] };

// ---------------------------------------------------------------------------------------------------------------
// Errors: every refusal names one of these codes.
// ---------------------------------------------------------------------------------------------------------------

export const ErrorCodeSchema = z.enum([
  "BAD_JSON", // the frame was not JSON
  "INVALID_MESSAGE", // JSON, but not a message or command this protocol knows (details name the fields)
  "MESSAGE_TOO_LARGE",
  "UNAUTHENTICATED",
  "FORBIDDEN", // the caller's role may not run this command
  "WRONG_SESSION", // the credential belongs to another session
  "CREDENTIAL_EXPIRED",
  "CREDENTIAL_REVOKED",
  "INVALID_STATE", // the session's state does not allow this now (e.g. moving while no rooms are open)
  "SESSION_ENDED",
  "MEMBER_NOT_FOUND",
  "ROOM_NOT_FOUND",
  "NOT_ADMITTED", // the member is waiting, denied or gone
  "TOO_FEW_PARTICIPANTS", // breakouts need at least 2 admitted participants
  "TOO_MANY_ROOMS",
  "ROOM_FULL",
  "SESSION_FULL",
  "ROOM_NOT_OPEN",
  "ALREADY_THERE",
  "NOT_ALLOWED_BY_SETTINGS",
  "MEDIA_BLOCKED", // staff turned this off for you (they can allow it again)
  "DUPLICATE_ROOM_NAME",
  "RATE_LIMITED",
  "MEDIA_PROVIDER_ERROR", // Twilio refused or failed after retries
  "NOT_FOUND",
  "UNSUPERVISED_ROOM", // supervisedRooms: a room would open without a facilitator or co-facilitator (confirm to open anyway)
  "AGREEMENT_REQUIRED", // a client joins only by accepting the group agreement as it stands now (send its agreementHash)
  "PAIRING_RULE", // a manual placement breaks a pairing rule (the message names it; confirmRule places anyway)
  "PAIRING_IMPOSSIBLE", // no automatic assignment into these rooms satisfies the pairing rules
  "INTERNAL",
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorPayloadSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  details: z.unknown().optional(),
});
export type ErrorPayload = z.infer<typeof ErrorPayloadSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Client → server frames
// ---------------------------------------------------------------------------------------------------------------

export const ClientMessageSchema = z.discriminatedUnion("type", [
  /** commandId is chosen by the client; a retry with the same id is answered again, never applied twice. */
  z.object({ type: z.literal("command"), commandId: z.string().min(8).max(64), command: CommandSchema }).strict(),
  /** Ask for what was missed since lastSeq (also accepted as ?lastSeq= on connect). */
  z.object({ type: z.literal("resume"), lastSeq: z.number().int().min(0) }).strict(),
  /**
   * Keepalive: send PING_FRAME exactly and the runtime answers PONG_FRAME without waking the session. Any other ping
   * (protocol 1 clients add `t`) is answered with PONG_FRAME by the session itself.
   */
  z.object({ type: z.literal("ping"), t: z.number().optional() }).strict(),
  /** Local media mode: WebRTC signalling relayed to one member in the same room. */
  z.object({ type: z.literal("signal"), to: Id, data: z.record(z.string(), z.unknown()) }).strict(),
  /** Network quality sample from the client's media connection (0 = unknown/bad .. 5 = excellent). */
  z.object({ type: z.literal("quality"), level: z.number().int().min(0).max(5) }).strict(),
  /**
   * What keeps the sender's media from connecting, as their app knows it: a Twilio error code ("53405") or a browser
   * error name ("NotAllowedError"); null once it connects. Staff see it beside the member ("stuck connecting").
   */
  z
    .object({
      type: z.literal("mediaProblem"),
      code: z
        .string()
        .regex(/^[A-Za-z0-9_]{1,40}$/)
        .nullable(),
    })
    .strict(),
  /** Media arrival as the client sees it (local media mode; Twilio mode uses signed status callbacks). */
  z.object({ type: z.literal("arrived"), mediaRoom: z.string().max(200).nullable() }).strict(),
  /** Ask for a fresh media token for the current room (answered with a `mediaToken` frame). */
  z.object({ type: z.literal("refreshMedia") }).strict(),
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Public state shapes
// ---------------------------------------------------------------------------------------------------------------

export type SessionPhase = "main" | "preparing" | "open" | "closing" | "ended";
export type MemberStatus = "waiting" | "admitted" | "denied" | "left";
export type RoomStatus = "preparing" | "open" | "closed";
export type MediaStatus = "none" | "pending" | "ready" | "failed" | "completed";

export interface MediaState {
  mic: boolean;
  cam: boolean;
  screen: boolean;
}

export interface MediaBlocks {
  audio: boolean;
  video: boolean;
  screen: boolean;
}

export type MediaKind = keyof MediaBlocks;

/** A chat message as members receive it. */
export interface ChatMessage {
  id: string;
  /** "room:<place>", "private:<memberId>" (a participant and the staff), or "all" (a broadcast to everyone). */
  channel: string;
  kind: "message" | "broadcast";
  from: string;
  fromName: string;
  fromRole: Role;
  text: string;
  at: number;
}

/**
 * Why a join request needs a closer look (staff see it in the waiting room): it comes with an invite that someone who
 * was removed also used, so it may be the same person on another device (a removed identity itself stays removed).
 */
export type JoinNote = "invite-of-removed";

export interface MemberPublic {
  id: string;
  identity: string;
  name: string;
  role: Role;
  status: MemberStatus;
  /** "main", a breakout room id, or null when not admitted / gone. */
  location: string | null;
  /** Where the media provider says this member is actually connected (media room name), or null. */
  arrivedIn: string | null;
  connected: boolean;
  quality: number | null;
  /** What their app reports keeps their media from connecting, since when (staff only; cleared on arrival). */
  mediaProblem: { code: string; at: number } | null;
  helpRequest: { at: number; message: string } | null;
  joinedAt: number;
  admittedAt: number | null;
  leftAt: number | null;
  /** The invite they joined with (null: the session's creator, or joined before invites were recorded). */
  inviteId: string | null;
  /** Set while they wait, when the request needs a closer look. */
  joinNote: JoinNote | null;
  /** Their microphone, camera and screen share as their device reports them (what tiles show). */
  media: MediaState;
  /** What staff turned off for them; it holds until staff allow it again (enforced at the media provider). */
  blocked: MediaBlocks;
  /** When they raised their hand (null: not raised); staff see hands in this order. */
  hand: number | null;
  /** The breakout room they were placed in this round (where "return to my room" goes); null outside rounds. */
  breakoutRoom: string | null;
  /** They asked to talk to the therapist alone (staff only; cleared when a check-in with them starts). */
  checkInRequest: { at: number } | null;
  /** The name they chose to be known by to other clients (roster setting "firstNames"/"aliases"); staff see both. */
  alias: string | null;
  /** The group agreement as they last accepted it at the door (SHA-256 of the text, when); null: not asked (staff). */
  agreement: { hash: string; at: number } | null;
}

export interface RoomPublic {
  id: string;
  name: string;
  status: RoomStatus;
  capacity: number;
  round: number;
  openedAt: number | null;
  closedAt: number | null;
  emptySince: number | null;
}

export interface RoundPublic {
  number: number;
  mode: AssignmentMode;
  durationSeconds: number | null;
  /** Planned assignment while preparing: memberId → roomId. */
  plan: Record<string, string>;
  openedAt: number | null;
  endsAt: number | null;
  warned: boolean;
  /** Closing countdown deadline once "close all" was given. */
  closesAt: number | null;
}

export interface MediaRoomPublic {
  /** Key: "main" or a breakout room id. */
  key: string;
  name: string;
  status: MediaStatus;
  sid: string | null;
  error: string | null;
}

export interface SessionPublic {
  id: string;
  title: string;
  createdBy: string;
  endReason: string | null;
  phase: SessionPhase;
  createdAt: number;
  endedAt: number | null;
  endsAt: number | null;
  settings: Settings;
  roundsCompleted: number;
  preAssignments: Record<string, string>;
  /** How many times someone declined the group agreement at the door (nothing else of them is kept). */
  agreementDeclines: number;
}

/**
 * A private check-in: its own place (location = its id, "k<n>") and media room, holding one client and the staff
 * member who opened it. `clientReturn`/`staffReturn`: where each goes back to when it ends.
 */
export interface CheckInPublic {
  id: string;
  clientId: string;
  staffId: string;
  startedAt: number;
  clientReturn: string;
  staffReturn: string;
}

/** What staff see: everything. */
export interface StaffState {
  checkIns: CheckInPublic[];
  session: SessionPublic;
  members: MemberPublic[];
  rooms: RoomPublic[];
  round: RoundPublic | null;
  media: MediaRoomPublic[];
  mediaProvider: MediaProvider;
  /** Featured member per place ("main" or a room id). */
  spotlights: Record<string, string>;
  /** The session plan being run, or null. */
  plan: PlanPublic | null;
  /** Pairing rules (staff only; never in a participant's view). */
  pairRules: PairRule[];
}

/** What a participant sees: only their own place and the people in it. */
export interface Roommate {
  id: string;
  name: string;
  role: Role;
  arrived: boolean;
  media: MediaState;
  blocked: MediaBlocks;
  hand: number | null;
}

export interface ParticipantView {
  session: { id: string; title: string; phase: SessionPhase; endedAt: number | null };
  you: {
    memberId: string;
    name: string;
    role: Role;
    status: MemberStatus;
    location: string | null;
    roomName: string | null;
    helpRequested: boolean;
    media: MediaState;
    blocked: MediaBlocks;
    hand: number | null;
    /** You asked to talk to the therapist alone, and they have not opened the check-in yet. */
    checkInRequested: boolean;
    /** The session's roster setting and your alias: what the other clients see you as is rosterName(you, roster). */
    roster: RosterMode;
    alias: string | null;
  };
  roommates: Roommate[];
  /** People from your place who stepped out for a moment (a private check-in): all the room learns of it. */
  steppedOut: { id: string; name: string }[];
  /** Whose video everyone in this place is asked to feature (staff chose it), or null. */
  spotlight: string | null;
  /** The breakout room "return to my room" would take you back to (you left it for the main room), or null. */
  returnTo: { roomId: string; roomName: string } | null;
  round: { number: number; mode: AssignmentMode; endsAt: number | null; closesAt: number | null } | null;
  /** Rooms a participant may choose from (only when the round's mode is "choose"). */
  choosableRooms: { id: string; name: string; capacity: number; count: number }[];
  allowSelfReturn: boolean;
}

export type MediaProvider = "twilio" | "local";

/** What a member needs to join the media room where they belong now. */
export interface MediaGrant {
  provider: MediaProvider;
  /** Media room unique name (Twilio UniqueName; local mode: signalling group). */
  room: string;
  identity: string;
  /** Twilio access token (JWT) granting exactly this room; null in local mode. */
  token: string | null;
  /** Epoch ms after which the token is refused; refresh before. */
  expiresAt: number | null;
}

export interface Placement {
  location: string | null;
  roomName: string | null;
  media: MediaGrant | null;
  /** Why the member is (re)placed: "admitted", "breakouts-opened", "moved", "room-closed", "round-ended", "refresh"... */
  reason: string;
}

export type Change =
  | { entity: "member"; value: MemberPublic }
  | { entity: "room"; value: RoomPublic }
  | { entity: "session"; value: SessionPublic }
  | { entity: "round"; value: RoundPublic | null }
  | { entity: "spotlights"; value: Record<string, string> }
  | { entity: "checkIns"; value: CheckInPublic[] }
  | { entity: "media"; value: MediaRoomPublic }
  | { entity: "plan"; value: PlanPublic | null }
  | { entity: "pairRules"; value: PairRule[] };

export type Notice =
  | { kind: "broadcast"; text: string; roomId: string | null; from: string }
  | { kind: "helpRequested"; memberId: string; name: string; location: string | null; message: string }
  | { kind: "helpResolved"; memberId: string }
  | { kind: "roundWarning"; endsAt: number }
  | { kind: "closingCountdown"; closesAt: number }
  | { kind: "roomClosing"; roomId: string }
  | { kind: "joinRequest"; memberId: string; name: string; note: JoinNote | null }
  /** Staff turned off someone's microphone, camera or share (to that person and staff). */
  | { kind: "mediaBlocked"; memberId: string; media: MediaKind }
  /** Staff allowed it again: for audio, "the facilitator asks you to unmute" (to that person and staff). */
  | { kind: "mediaAllowed"; memberId: string; media: MediaKind }
  /** A participant went back to the main room by themselves during a round (staff). */
  | { kind: "memberReturned"; memberId: string; name: string; from: string; roomName: string | null }
  /** Twilio reported a connection to a media room by someone not placed there; it was disconnected at once. */
  | { kind: "unexpectedConnection"; key: string; roomName: string; memberId: string | null; name: string | null }
  /**
   * supervisedRooms: the last staff member in an open breakout room disconnected or left it (staff). `closeRoom`
   * with this roomId brings everyone in it back to the main room.
   */
  | { kind: "roomUnsupervised"; roomId: string; roomName: string; memberId: string; name: string; reason: "disconnected" | "left" }
  /** A client asked to talk to the therapist alone (staff only). */
  | { kind: "checkInRequested"; memberId: string; name: string; location: string | null }
  | { kind: "sessionEnded"; reason: string }
  | { kind: "mediaError"; key: string; message: string };

// ---------------------------------------------------------------------------------------------------------------
// Server → client frames. Those with `seq` are the session's ordered stream: every sequenced frame a member receives
// is kept, so a client that reconnects with ?lastSeq= gets exactly the frames it missed, as they were sent (or a
// snapshot when it is further behind than the log). A seq belongs to one frame only. Frames without seq (hello, ack,
// error, pong, signal, mediaToken) answer the connection itself and are never replayed.
// ---------------------------------------------------------------------------------------------------------------

export type SequencedMessage =
  | {
      type: "snapshot";
      seq: number;
      staff?: StaffState;
      view?: ParticipantView;
      placement: Placement | null;
      /** The chat this member may read that the session still holds (staff: all of it), oldest first. */
      chat: ChatMessage[];
    }
  | { type: "patch"; seq: number; changes: Change[] }
  | { type: "view"; seq: number; view: ParticipantView }
  | { type: "placement"; seq: number; placement: Placement }
  | { type: "notice"; seq: number; notice: Notice }
  | { type: "chat"; seq: number; message: ChatMessage }
  | { type: "chatDeleted"; seq: number; messageId: string; channel: string };

export type ServerMessage =
  | SequencedMessage
  | {
      type: "hello";
      protocol: number;
      sessionId: string;
      you: { memberId: string; role: Role; name: string };
      /** Session clock at the time of sending (clients keep their offset from it; keepalives carry no time). */
      serverTime: number;
      /** What follows: the frames after `from` up to `to` (a resume), or a snapshot at `to` (from null). */
      resume: { from: number | null; to: number };
    }
  | { type: "ack"; commandId: string; seq: number; duplicate: boolean }
  | { type: "error"; commandId: string | null; error: ErrorPayload }
  | { type: "pong" }
  | { type: "signal"; from: string; data: Record<string, unknown> }
  /** A fresh token for the media room the member is placed in now (a refresh: the place has not changed). */
  | { type: "mediaToken"; media: MediaGrant };

// ---------------------------------------------------------------------------------------------------------------
// Operator monitoring (HTTP only)
// ---------------------------------------------------------------------------------------------------------------

/** GET /api/monitoring/overview (operators): what is live now. */
export interface MonitoringOverview {
  asOf: number;
  sessions: { active: number; byPhase: Record<string, number> };
  participants: { admitted: number; waiting: number; connected: number; inMediaRooms: number };
  rooms: { main: number; breakoutOpen: number; open: number; providerRoomsLive: number };
  last24h: { sessionsCreated: number; sessionsEnded: number; participantMinutes: number; estimatedCostMicros: number; estimatedCostUsd: string };
  liveSessions: {
    id: string;
    phase: string;
    mediaProvider: string;
    createdAt: number;
    roundsCompleted: number;
    admitted: number;
    waiting: number;
    connected: number;
    openRooms: number;
    mediaRooms: number;
    placed: number;
  }[];
}

/** GET /api/monitoring/timeseries (operators): per-minute buckets. */
export interface MonitoringTimeseries {
  from: number;
  to: number;
  bucketMs: number;
  /** Bucket starts, epoch seconds (uPlot's x axis). */
  t: number[];
  series: {
    sessions: number[];
    participants: number[];
    openRooms: number[];
    commands: number[];
    refused: number[];
    twilioFailures: number[];
    callbacksRejected: number[];
    errors: number[];
    sessionsCreated: number[];
    joins: number[];
    quality: number[][];
  };
}

/** Media room name for a place in a session: stable, unique, and valid as a Twilio UniqueName. */
export function mediaRoomName(sessionId: string, key: string): string {
  return `mb-${sessionId}-${key}`;
}

/** Human-readable message for a zod error, listing paths. */
export function describeZodError(error: z.ZodError): { message: string; issues: { path: string; message: string }[] } {
  const issues = error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  return { message: issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; "), issues };
}
