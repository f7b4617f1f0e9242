/**
 * Twilio Video room status callbacks: parse the form body into a typed event, and decide whether an event is new,
 * a repeat, or stale. Twilio may deliver an event more than once and out of order, and its SequenceNumber does not
 * give the true order (TWILIO.md): order by Timestamp, de-duplicate by event identity.
 *
 * Verify the X-Twilio-Signature (signature.ts) before parsing; this module trusts its input's origin.
 */
import { z } from "zod";

export const STATUS_CALLBACK_EVENTS = [
  "room-created",
  "room-ended",
  "participant-connected",
  "participant-disconnected",
  "track-added",
  "track-removed",
  "track-enabled",
  "track-disabled",
  "recording-started",
  "recording-completed",
  "recording-failed",
] as const;
export type StatusCallbackEventName = (typeof STATUS_CALLBACK_EVENTS)[number];

const PARTICIPANT_EVENTS: ReadonlySet<StatusCallbackEventName> = new Set(["participant-connected", "participant-disconnected"]);
const TRACK_EVENTS: ReadonlySet<StatusCallbackEventName> = new Set(["track-added", "track-removed", "track-enabled", "track-disabled"]);

// ISO 8601 with a zone (what Twilio documents), or RFC 2822 as other Twilio products send; both parse with Date.parse.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const RFC_2822 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (GMT|UTC|[+-]\d{4})$/;

const Sid = (prefix: string) => z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `expected a ${prefix} sid`);
const WholeNumber = z
  .string()
  .regex(/^\d{1,15}$/, "expected a whole number")
  .transform(Number);
const Timestamp = z.string().refine((v) => (ISO_8601.test(v) || RFC_2822.test(v)) && !Number.isNaN(Date.parse(v)), "expected an ISO 8601 timestamp");

/** The form fields as Twilio names them. Unknown fields are allowed (Twilio adds fields over time). */
export const TwilioStatusCallbackSchema = z
  .object({
    AccountSid: Sid("AC"),
    RoomName: z.string(),
    RoomSid: Sid("RM"),
    RoomStatus: z.enum(["in-progress", "completed", "failed"]),
    RoomType: z.string().min(1),
    StatusCallbackEvent: z.enum(STATUS_CALLBACK_EVENTS),
    Timestamp,
    SequenceNumber: WholeNumber,
    ParticipantSid: Sid("PA").optional(),
    // Every participant status of Twilio's REST spec: a track event can come from a participant that is reconnecting.
    ParticipantStatus: z.enum(["connected", "disconnected", "reconnecting"]).optional(),
    ParticipantIdentity: z.string().optional(),
    ParticipantDuration: WholeNumber.optional(),
    TrackSid: Sid("MT").optional(),
    TrackKind: z.enum(["audio", "video", "data"]).optional(),
    TrackName: z.string().optional(),
    RoomDuration: WholeNumber.optional(),
    RecordingSid: Sid("RT").optional(),
  })
  .loose()
  .superRefine((f, ctx) => {
    const needs = (field: keyof typeof f, why: string) => {
      if (f[field] === undefined) ctx.addIssue({ code: "custom", path: [field], message: `${field} is required on ${why}` });
    };
    if (PARTICIPANT_EVENTS.has(f.StatusCallbackEvent) || TRACK_EVENTS.has(f.StatusCallbackEvent)) {
      needs("ParticipantSid", f.StatusCallbackEvent);
      needs("ParticipantStatus", f.StatusCallbackEvent);
      needs("ParticipantIdentity", f.StatusCallbackEvent);
    }
    if (TRACK_EVENTS.has(f.StatusCallbackEvent)) {
      needs("TrackSid", f.StatusCallbackEvent);
      needs("TrackKind", f.StatusCallbackEvent);
    }
  });
export type TwilioStatusCallbackFields = z.infer<typeof TwilioStatusCallbackSchema>;

export interface VideoStatusEvent {
  event: StatusCallbackEventName;
  accountSid: string;
  roomSid: string;
  roomName: string;
  roomStatus: "in-progress" | "completed" | "failed";
  roomType: string;
  /** As sent, for logs and the identity key. */
  timestamp: string;
  /** Epoch ms, the ordering key. */
  timestampMs: number;
  /** Informational only: Twilio says it does not give the true order. */
  sequenceNumber: number;
  participant?: {
    sid: string;
    identity: string;
    status: "connected" | "disconnected" | "reconnecting";
    /** Seconds, on participant-disconnected. */
    durationSeconds?: number;
  };
  track?: { sid: string; kind: "audio" | "video" | "data"; name?: string };
  recordingSid?: string;
  /** Seconds, on room-ended. */
  roomDurationSeconds?: number;
}

export class StatusCallbackParseError extends Error {
  readonly issues: readonly { path: string; message: string }[];
  constructor(issues: readonly { path: string; message: string }[]) {
    super(`invalid Twilio status callback: ${issues.map((i) => `${i.path || "(body)"}: ${i.message}`).join("; ")}`);
    this.name = "StatusCallbackParseError";
    this.issues = issues;
  }
}

export type StatusCallbackInput = string | URLSearchParams | Readonly<Record<string, string | undefined>>;

function toRecord(input: StatusCallbackInput): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof input === "string" || input instanceof URLSearchParams) {
    const params = typeof input === "string" ? new URLSearchParams(input) : input;
    // Twilio never repeats a field; keep the first so a smuggled duplicate can't override a signed value silently.
    for (const [k, v] of params) if (!(k in out)) out[k] = v;
  } else {
    for (const [k, v] of Object.entries(input)) if (v !== undefined) out[k] = v;
  }
  return out;
}

function toEvent(f: TwilioStatusCallbackFields): VideoStatusEvent {
  const event: VideoStatusEvent = {
    event: f.StatusCallbackEvent,
    accountSid: f.AccountSid,
    roomSid: f.RoomSid,
    roomName: f.RoomName,
    roomStatus: f.RoomStatus,
    roomType: f.RoomType,
    timestamp: f.Timestamp,
    timestampMs: Date.parse(f.Timestamp),
    sequenceNumber: f.SequenceNumber,
  };
  if (f.ParticipantSid && f.ParticipantIdentity !== undefined && f.ParticipantStatus) {
    event.participant = { sid: f.ParticipantSid, identity: f.ParticipantIdentity, status: f.ParticipantStatus };
    if (f.ParticipantDuration !== undefined) event.participant.durationSeconds = f.ParticipantDuration;
  }
  if (f.TrackSid && f.TrackKind) {
    event.track = { sid: f.TrackSid, kind: f.TrackKind };
    if (f.TrackName !== undefined) event.track.name = f.TrackName;
  }
  if (f.RecordingSid) event.recordingSid = f.RecordingSid;
  if (f.RoomDuration !== undefined) event.roomDurationSeconds = f.RoomDuration;
  return event;
}

export type StatusCallbackParseResult = { ok: true; event: VideoStatusEvent } | { ok: false; error: StatusCallbackParseError };

export function safeParseStatusCallback(input: StatusCallbackInput): StatusCallbackParseResult {
  const parsed = TwilioStatusCallbackSchema.safeParse(toRecord(input));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    return { ok: false, error: new StatusCallbackParseError(issues) };
  }
  return { ok: true, event: toEvent(parsed.data) };
}

/** Parses a status-callback body (raw form string, URLSearchParams or a field map); throws StatusCallbackParseError. */
export function parseStatusCallback(input: StatusCallbackInput): VideoStatusEvent {
  const result = safeParseStatusCallback(input);
  if (!result.ok) throw result.error;
  return result.event;
}

// ---------------------------------------------------------------------------------------------------------------
// Identity and ordering
// ---------------------------------------------------------------------------------------------------------------

/** Same key for the same event however often Twilio delivers it. */
export function callbackEventKey(e: VideoStatusEvent): string {
  return [e.roomSid, e.event, e.participant?.sid ?? "", e.track?.sid ?? "", e.recordingSid ?? "", e.timestamp, e.sequenceNumber].join("|");
}

/**
 * Ordering scopes. Room events order against the room; participant events against (room, participant); track events
 * against their track and against their participant, so a late track-added after participant-disconnected is stale,
 * while events of two different tracks never make each other stale.
 */
export function orderingScopes(e: VideoStatusEvent): { own: string; parent?: string } {
  const participantScope = e.participant ? `${e.roomSid}/${e.participant.sid}` : undefined;
  if (TRACK_EVENTS.has(e.event) && e.track && participantScope) {
    return { own: `${participantScope}/${e.track.sid}`, parent: participantScope };
  }
  if (e.event.startsWith("recording-") && e.recordingSid) {
    return { own: `${e.roomSid}/rec/${e.recordingSid}` };
  }
  return { own: participantScope ?? e.roomSid };
}

/** What has been applied in one scope: the latest Timestamp and the keys of recent events there. */
export interface ScopeMark {
  at: number;
  keys: string[];
}
/** Plain JSON so a Durable Object can persist it as is. */
export type CallbackOrderingState = Record<string, ScopeMark>;

/** "apply": newest so far (or equal time, new identity); "duplicate": seen before; "stale": older than applied. */
export type CallbackVerdict = "apply" | "duplicate" | "stale";

const RECENT_KEYS_PER_SCOPE = 16;

/** Pure: the verdict for `e` given the state. Equal timestamps are not stale (Twilio stamps in ms; ties happen). */
export function classifyCallback(e: VideoStatusEvent, state: Readonly<CallbackOrderingState>): CallbackVerdict {
  const { own, parent } = orderingScopes(e);
  const key = callbackEventKey(e);
  const ownMark = state[own];
  if (ownMark?.keys.includes(key)) return "duplicate";
  if (ownMark && e.timestampMs < ownMark.at) return "stale";
  const parentMark = parent ? state[parent] : undefined;
  if (parentMark && e.timestampMs < parentMark.at) return "stale";
  return "apply";
}

/** Pure: the state after applying `e` (call only for "apply" verdicts). */
export function recordCallback(e: VideoStatusEvent, state: Readonly<CallbackOrderingState>): CallbackOrderingState {
  const { own } = orderingScopes(e);
  const key = callbackEventKey(e);
  const prev = state[own];
  const keys = prev ? [...prev.keys.filter((k) => k !== key), key].slice(-RECENT_KEYS_PER_SCOPE) : [key];
  return { ...state, [own]: { at: Math.max(prev?.at ?? -Infinity, e.timestampMs), keys } };
}

/**
 * Stateful wrapper: `check` then `commit` once the event's effect is stored, so a failed application is retried when
 * Twilio redelivers. `observe` does both. Forget a room's scopes when it ends and its late events no longer matter.
 */
export class CallbackDeduper {
  #state: CallbackOrderingState;

  constructor(snapshot: CallbackOrderingState = {}) {
    this.#state = { ...snapshot };
  }

  check(e: VideoStatusEvent): CallbackVerdict {
    return classifyCallback(e, this.#state);
  }

  commit(e: VideoStatusEvent): void {
    this.#state = recordCallback(e, this.#state);
  }

  observe(e: VideoStatusEvent): CallbackVerdict {
    const verdict = this.check(e);
    if (verdict === "apply") this.commit(e);
    return verdict;
  }

  forgetRoom(roomSid: string): void {
    const next: CallbackOrderingState = {};
    for (const [scope, mark] of Object.entries(this.#state)) {
      if (scope !== roomSid && !scope.startsWith(`${roomSid}/`)) next[scope] = mark;
    }
    this.#state = next;
  }

  snapshot(): CallbackOrderingState {
    return structuredClone(this.#state);
  }
}
