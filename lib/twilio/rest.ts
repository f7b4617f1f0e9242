/**
 * A small Twilio Video v1 REST client on `fetch` (runs in Workers; no `twilio` package).
 *
 * Every call is safe to retry: room creation requires a UniqueName and answers 53113 ("room exists") with the existing
 * in-progress room, completion and disconnection are idempotent. So 429 / 5xx / time-outs / network errors are
 * retried with exponential backoff and full jitter (Retry-After honoured), within a bounded number of attempts.
 *
 * Rooms and participants may be named by sid, UniqueName or identity; names with URL-reserved characters
 * ("s1:main", "alice@example.com") are resolved to sids through the list filters, never put in a path.
 *
 * Requests and parsers follow Twilio's OpenAPI description of Video v1 (test/fixtures/twilio_video_v1.json, checked by
 * test/unit/twilio-openapi.test.ts): every status it lists is accepted, and every field it marks nullable may be null.
 */
import { z } from "zod";
import { backoffMs } from "../runtime/backoff";

export const DEFAULT_TWILIO_VIDEO_BASE_URL = "https://video.twilio.com";

/** Twilio error codes this client reacts to (see /work/shared/TWILIO.md). */
export const TwilioErrorCode = {
  AuthenticationFailed: 20003,
  NotFound: 20404,
  TooManyRequests: 20429,
  TooManyParticipants: 53105,
  RoomNotFound: 53106,
  MaxParticipantsOutOfRange: 53107,
  InvalidStatus: 53112,
  RoomExists: 53113,
  InvalidSubscribeRules: 53215,
} as const;

/** "http": Twilio answered with an error; "timeout"/"network": no answer; "invalid-response": an answer we can't read. */
export type TwilioApiErrorKind = "http" | "timeout" | "network" | "invalid-response";

export class TwilioApiError extends Error {
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  /** Twilio error code from the body, null when there was none. */
  readonly code: number | null;
  readonly moreInfo: string | null;
  /** True when the same request may succeed later (429, 5xx, time-out, network). */
  readonly retryable: boolean;
  readonly kind: TwilioApiErrorKind;
  /** Attempts made before this error was surfaced. */
  readonly attempts: number;
  /** Milliseconds Twilio asked us to wait (Retry-After), when it did. */
  readonly retryAfterMs: number | null;

  constructor(init: {
    status: number;
    code: number | null;
    message: string;
    moreInfo?: string | null;
    retryable: boolean;
    kind: TwilioApiErrorKind;
    attempts?: number;
    retryAfterMs?: number | null;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "TwilioApiError";
    this.status = init.status;
    this.code = init.code;
    this.moreInfo = init.moreInfo ?? null;
    this.retryable = init.retryable;
    this.kind = init.kind;
    this.attempts = init.attempts ?? 1;
    this.retryAfterMs = init.retryAfterMs ?? null;
  }

  withAttempts(attempts: number): TwilioApiError {
    return new TwilioApiError({
      status: this.status,
      code: this.code,
      message: this.message,
      moreInfo: this.moreInfo,
      retryable: this.retryable,
      kind: this.kind,
      attempts,
      retryAfterMs: this.retryAfterMs,
      cause: this.cause,
    });
  }
}

export const isTwilioApiError = (e: unknown, code?: number): e is TwilioApiError => e instanceof TwilioApiError && (code === undefined || e.code === code);

// ---------------------------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------------------------

// Enums and nullability as Twilio's OpenAPI description has them.
export type RoomStatus = "in-progress" | "completed" | "failed";
/** "reconnecting": the SDK lost its connection and is recovering it; the participant still holds its place. */
export type ParticipantStatus = "connected" | "disconnected" | "reconnecting";
export type TrackKind = "audio" | "video" | "data";
export type TrackPriority = "low" | "standard" | "high";

export interface VideoRoom {
  /** Null only if Twilio omits it (its spec allows that); such a room cannot be addressed. */
  sid: string | null;
  status: RoomStatus;
  /** Nullable in Twilio's spec (normally the sid when none was given). */
  uniqueName: string | null;
  accountSid: string | null;
  type: string;
  maxParticipants: number | null;
  statusCallback: string | null;
  statusCallbackMethod: string | null;
  emptyRoomTimeout: number | null;
  unusedRoomTimeout: number | null;
  /** Seconds; null while in progress. */
  duration: number | null;
  endTime: string | null;
  dateCreated: string | null;
  dateUpdated: string | null;
  url: string | null;
}

export interface VideoParticipant {
  sid: string | null;
  roomSid: string | null;
  accountSid: string | null;
  status: ParticipantStatus;
  identity: string | null;
  startTime: string | null;
  endTime: string | null;
  /** Seconds; null while connected. */
  duration: number | null;
  dateCreated: string | null;
  dateUpdated: string | null;
  url: string | null;
}

/**
 * One subscribe rule (Twilio's Track Subscriptions API). `type` says whether matching tracks are subscribed to.
 * `{ all: true }` matches every track and takes no other filter; otherwise at least one filter, and a track matches
 * when every given filter does: `publisher` (identity or PA sid), `track` (track name or MT sid), `kind`, `priority`.
 */
export type SubscribeRule =
  | { type: "include" | "exclude"; all: true }
  | { type: "include" | "exclude"; all?: undefined; publisher?: string; track?: string; kind?: TrackKind; priority?: TrackPriority };

export interface SubscribeRules {
  participantSid: string | null;
  roomSid: string | null;
  /** Null only if Twilio omits them (nullable in its spec). */
  rules: SubscribeRule[] | null;
  /** Null while the participant has Twilio's default rules (include all). */
  dateCreated: string | null;
  dateUpdated: string | null;
}

export interface SubscribedTrack {
  /** The track (MT...). */
  sid: string | null;
  /** The subscriber. */
  participantSid: string | null;
  publisherSid: string | null;
  roomSid: string | null;
  name: string | null;
  kind: TrackKind;
  enabled: boolean | null;
  dateCreated: string | null;
  dateUpdated: string | null;
  url: string | null;
}

/** Twilio's documented limit per subscriber (error 53215 beyond it). */
export const MAX_SUBSCRIBE_RULES = 20;

const nullableString = z
  .string()
  .nullish()
  .transform((v) => v ?? null);
const nullableBool = z
  .boolean()
  .nullish()
  .transform((v) => v ?? null);
const nullableInt = z
  .union([z.number(), z.string().regex(/^-?\d+$/)])
  .nullish()
  .transform((v) => (v === null || v === undefined ? null : Number(v)));

const RoomPayload = z
  .object({
    sid: nullableString,
    status: z.enum(["in-progress", "completed", "failed"]),
    unique_name: nullableString,
    account_sid: nullableString,
    type: z.string(),
    max_participants: nullableInt,
    status_callback: nullableString,
    status_callback_method: nullableString,
    empty_room_timeout: nullableInt,
    unused_room_timeout: nullableInt,
    duration: nullableInt,
    end_time: nullableString,
    date_created: nullableString,
    date_updated: nullableString,
    url: nullableString,
  })
  .transform(
    (r): VideoRoom => ({
      sid: r.sid,
      status: r.status,
      uniqueName: r.unique_name,
      accountSid: r.account_sid,
      type: r.type,
      maxParticipants: r.max_participants,
      statusCallback: r.status_callback,
      statusCallbackMethod: r.status_callback_method,
      emptyRoomTimeout: r.empty_room_timeout,
      unusedRoomTimeout: r.unused_room_timeout,
      duration: r.duration,
      endTime: r.end_time,
      dateCreated: r.date_created,
      dateUpdated: r.date_updated,
      url: r.url,
    }),
  );

const ParticipantPayload = z
  .object({
    sid: nullableString,
    room_sid: nullableString,
    account_sid: nullableString,
    status: z.enum(["connected", "disconnected", "reconnecting"]),
    identity: nullableString,
    start_time: nullableString,
    end_time: nullableString,
    duration: nullableInt,
    date_created: nullableString,
    date_updated: nullableString,
    url: nullableString,
  })
  .transform(
    (p): VideoParticipant => ({
      sid: p.sid,
      roomSid: p.room_sid,
      accountSid: p.account_sid,
      status: p.status,
      identity: p.identity,
      startTime: p.start_time,
      endTime: p.end_time,
      duration: p.duration,
      dateCreated: p.date_created,
      dateUpdated: p.date_updated,
      url: p.url,
    }),
  );

const TRACK_KINDS = ["audio", "video", "data"] as const;
const TRACK_PRIORITIES = ["low", "standard", "high"] as const;

/** A rule as sent: Twilio's 53215 checks, so a malformed rule fails here (TypeError) instead of on Twilio. */
const RuleOut = z.union([
  z.strictObject({ type: z.enum(["include", "exclude"]), all: z.literal(true) }),
  z
    .strictObject({
      type: z.enum(["include", "exclude"]),
      publisher: z.string().min(1).optional(),
      track: z.string().min(1).optional(),
      kind: z.enum(TRACK_KINDS).optional(),
      priority: z.enum(TRACK_PRIORITIES).optional(),
    })
    .refine(
      (r) => r.publisher !== undefined || r.track !== undefined || r.kind !== undefined || r.priority !== undefined,
      "a rule needs all: true or a filter",
    ),
]);
const RulesOut = z.array(RuleOut).min(1, "at least one rule").max(MAX_SUBSCRIBE_RULES, `at most ${MAX_SUBSCRIBE_RULES} rules`);

/** A rule as Twilio answers it: every field present, null when unset (its spec examples); absent ones omitted here. */
const RuleIn = z
  .object({
    type: z.enum(["include", "exclude"]),
    all: z.boolean().nullish(),
    publisher: z.string().nullish(),
    track: z.string().nullish(),
    kind: z.enum(TRACK_KINDS).nullish(),
    priority: z.enum(TRACK_PRIORITIES).nullish(),
  })
  .transform((r): SubscribeRule => {
    if (r.all) return { type: r.type, all: true };
    const rule: SubscribeRule = { type: r.type };
    if (r.publisher != null) rule.publisher = r.publisher;
    if (r.track != null) rule.track = r.track;
    if (r.kind != null) rule.kind = r.kind;
    if (r.priority != null) rule.priority = r.priority;
    return rule;
  });

const SubscribeRulesPayload = z
  .object({
    participant_sid: nullableString,
    room_sid: nullableString,
    rules: z
      .array(RuleIn)
      .nullish()
      .transform((v) => v ?? null),
    date_created: nullableString,
    date_updated: nullableString,
  })
  .transform(
    (r): SubscribeRules => ({
      participantSid: r.participant_sid,
      roomSid: r.room_sid,
      rules: r.rules,
      dateCreated: r.date_created,
      dateUpdated: r.date_updated,
    }),
  );

const SubscribedTrackPayload = z
  .object({
    sid: nullableString,
    participant_sid: nullableString,
    publisher_sid: nullableString,
    room_sid: nullableString,
    name: nullableString,
    kind: z.enum(TRACK_KINDS),
    enabled: nullableBool,
    date_created: nullableString,
    date_updated: nullableString,
    url: nullableString,
  })
  .transform(
    (t): SubscribedTrack => ({
      sid: t.sid,
      participantSid: t.participant_sid,
      publisherSid: t.publisher_sid,
      roomSid: t.room_sid,
      name: t.name,
      kind: t.kind,
      enabled: t.enabled,
      dateCreated: t.date_created,
      dateUpdated: t.date_updated,
      url: t.url,
    }),
  );

/** A list page: `{ <key>: [...], meta: { next_page_url, key, ... } }`, items validated with the item schema. */
function pageSchema<T>(key: string, item: z.ZodType<T>) {
  return z.preprocess(
    (v) => (v !== null && typeof v === "object" ? { items: (v as Record<string, unknown>)[key], meta: (v as { meta?: unknown }).meta } : v),
    z.object({ items: z.array(item), meta: z.object({ next_page_url: z.string().nullish() }) }),
  );
}

/** Built once: every kick and subscribe-rule call looks a participant up, and building a zod schema costs more than parsing a small page. */
const ParticipantPage = pageSchema("participants", ParticipantPayload);

const ErrorBody = z.object({
  code: z.number().int().nullish(),
  message: z.string().nullish(),
  more_info: z.string().nullish(),
  status: z.number().int().nullish(),
});

// ---------------------------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------------------------

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;
export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface TwilioVideoClientOptions {
  apiKeySid: string;
  apiKeySecret: string;
  /** Default https://video.twilio.com; tests and local mode use the local Twilio-compatible server. */
  baseUrl?: string;
  fetch?: FetchLike;
  sleep?: SleepFn;
  /** [0, 1) source for jitter. */
  random?: () => number;
  /** Epoch ms clock, for Retry-After given as an HTTP date. */
  now?: () => number;
  /** Total attempts per call, including the first. Default 4. */
  maxAttempts?: number;
  /** Backoff cap for attempt n is min(maxDelayMs, baseDelayMs * 2^(n-1)); the delay is uniform below it. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt time-out, covering the response body too. Default 10 s. */
  timeoutMs?: number;
  /** A Retry-After longer than this is not waited out: the call fails (retryable) and the caller decides. Default 30 s. */
  maxRetryAfterMs?: number;
}

export interface CallOptions {
  /** Caller cancellation; aborting stops retries and surfaces the abort reason. */
  signal?: AbortSignal;
}

export interface CreateRoomParams {
  /** Required so a retried create can find the room a lost response created. */
  uniqueName: string;
  type?: "group";
  maxParticipants?: number;
  statusCallback?: string;
  statusCallbackMethod?: "POST" | "GET";
  /** Minutes, 1..60. */
  emptyRoomTimeout?: number;
  /** Minutes, 1..60. */
  unusedRoomTimeout?: number;
  /** Seconds, up to 86400. */
  maxParticipantDuration?: number;
  mediaRegion?: string;
  audioOnly?: boolean;
}

export interface ListRoomsParams {
  status?: RoomStatus;
  uniqueName?: string;
  pageSize?: number;
  /** Stop after this many rooms. */
  limit?: number;
}

export interface ListParticipantsParams {
  /** Absent: Twilio lists connected participants of an in-progress room, disconnected ones of a completed room. */
  status?: ParticipantStatus;
  identity?: string;
  pageSize?: number;
  limit?: number;
}

export interface ListSubscribedTracksParams {
  pageSize?: number;
  limit?: number;
}

type FormValue = string | number | boolean | readonly string[] | undefined;

const defaultSleep: SleepFn = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

function anySignal(signals: AbortSignal[]): AbortSignal {
  if (signals.length === 1) return signals[0];
  if (typeof AbortSignal.any === "function") return AbortSignal.any(signals);
  const controller = new AbortController();
  for (const s of signals) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    s.addEventListener("abort", () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}

/** Retry-After: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

function encodeForm(fields: Record<string, FormValue>): string {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) form.append(name, v);
    else form.append(name, String(value));
  }
  return form.toString();
}

const isRetryableStatus = (status: number) => status === 429 || status >= 500;

export class TwilioVideoClient {
  readonly baseUrl: string;
  readonly #authorization: string;
  readonly #fetch: FetchLike;
  readonly #sleep: SleepFn;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #timeoutMs: number;
  readonly #maxRetryAfterMs: number;

  constructor(options: TwilioVideoClientOptions) {
    if (!options.apiKeySid || !options.apiKeySecret) throw new TypeError("apiKeySid and apiKeySecret are required");
    this.baseUrl = (options.baseUrl ?? DEFAULT_TWILIO_VIDEO_BASE_URL).replace(/\/+$/, "");
    this.#authorization = "Basic " + btoa(`${options.apiKeySid}:${options.apiKeySecret}`);
    // Workers throw "Illegal invocation" when the global fetch is called as a method of another object: wrap it.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 4));
    this.#baseDelayMs = options.baseDelayMs ?? 250;
    this.#maxDelayMs = options.maxDelayMs ?? 4000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  }

  // ----- rooms -----

  /**
   * Creates a group room, or returns the in-progress room that already holds this UniqueName (53113). That makes a
   * retry after a lost response converge on the one room instead of failing or creating a second.
   */
  async createRoom(params: CreateRoomParams, options: CallOptions = {}): Promise<VideoRoom> {
    if (!params.uniqueName) throw new TypeError("createRoom needs a uniqueName (it is what makes retries safe)");
    const body = encodeForm({
      Type: params.type ?? "group",
      UniqueName: params.uniqueName,
      MaxParticipants: params.maxParticipants,
      StatusCallback: params.statusCallback,
      StatusCallbackMethod: params.statusCallback ? (params.statusCallbackMethod ?? "POST") : undefined,
      EmptyRoomTimeout: params.emptyRoomTimeout,
      UnusedRoomTimeout: params.unusedRoomTimeout,
      MaxParticipantDuration: params.maxParticipantDuration,
      MediaRegion: params.mediaRegion,
      AudioOnly: params.audioOnly,
    });
    // Two rounds: the room found by 53113 can end between the create and the fetch; then create again.
    for (let round = 0; ; round++) {
      try {
        return await this.#request("POST", "/v1/Rooms", body, options, RoomPayload);
      } catch (error) {
        if (!isTwilioApiError(error, TwilioErrorCode.RoomExists)) throw error;
        const existing = await this.findRoomByName(params.uniqueName, options);
        if (existing) return existing;
        if (round > 0) throw error;
      }
    }
  }

  /** The in-progress room holding this UniqueName, via the list filter (safe for any characters), or null. */
  async findRoomByName(uniqueName: string, options: CallOptions = {}): Promise<VideoRoom | null> {
    const [room] = await this.listRooms({ uniqueName, status: "in-progress", limit: 1 }, options);
    return room ?? null;
  }

  /** By sid (any status) or by UniqueName (in-progress rooms only, as Twilio resolves it). Absent → 20404. */
  async getRoom(sidOrName: string, options: CallOptions = {}): Promise<VideoRoom> {
    const path = await this.#roomPath(sidOrName, options);
    if (path === null) throw notFound(`room ${sidOrName}`);
    return this.#request("GET", path, undefined, options, RoomPayload);
  }

  /**
   * Ends a room (Status=completed). Idempotent: a room that is already over returns as it is (Twilio answers 53112
   * for a room not in progress), and a name or sid Twilio no longer resolves (20404) returns null.
   */
  async completeRoom(sidOrName: string, options: CallOptions = {}): Promise<VideoRoom | null> {
    const path = await this.#roomPath(sidOrName, options);
    if (path === null) return null;
    try {
      return await this.#request("POST", path, encodeForm({ Status: "completed" }), options, RoomPayload);
    } catch (error) {
      if (isTwilioApiError(error, TwilioErrorCode.NotFound)) return null;
      if (!isTwilioApiError(error, TwilioErrorCode.InvalidStatus)) throw error;
      const room = await this.#request("GET", path, undefined, options, RoomPayload).catch((e: unknown) => {
        if (isTwilioApiError(e, TwilioErrorCode.NotFound)) return null;
        throw e;
      });
      if (room === null || room.status !== "in-progress") return room;
      throw error;
    }
  }

  /** Every matching room, following `meta.next_page_url`. Without `status`, Twilio lists in-progress rooms only. */
  async listRooms(params: ListRoomsParams = {}, options: CallOptions = {}): Promise<VideoRoom[]> {
    const rooms: VideoRoom[] = [];
    for await (const room of this.iterateRooms(params, options)) rooms.push(room);
    return rooms;
  }

  iterateRooms(params: ListRoomsParams = {}, options: CallOptions = {}): AsyncGenerator<VideoRoom> {
    const query = new URLSearchParams();
    if (params.status) query.set("Status", params.status);
    if (params.uniqueName) query.set("UniqueName", params.uniqueName);
    if (params.pageSize) query.set("PageSize", String(params.pageSize));
    return this.#paginate(`/v1/Rooms${queryString(query)}`, "rooms", RoomPayload, params.limit, options);
  }

  // ----- participants -----

  async listParticipants(
    roomSidOrName: string,
    statusOrParams: ParticipantStatus | ListParticipantsParams = {},
    options: CallOptions = {},
  ): Promise<VideoParticipant[]> {
    const params = typeof statusOrParams === "string" ? { status: statusOrParams } : statusOrParams;
    const room = await this.#roomPath(roomSidOrName, options);
    if (room === null) throw notFound(`room ${roomSidOrName}`);
    const query = new URLSearchParams();
    if (params.status) query.set("Status", params.status);
    if (params.identity) query.set("Identity", params.identity);
    if (params.pageSize) query.set("PageSize", String(params.pageSize));
    const out: VideoParticipant[] = [];
    const path = `${room}/Participants${queryString(query)}`;
    for await (const p of this.#paginate(path, "participants", ParticipantPayload, params.limit, options)) out.push(p);
    return out;
  }

  /** By participant sid, or by identity (the connected participant with it). Absent → 20404. */
  async getParticipant(roomSidOrName: string, participantSidOrIdentity: string, options: CallOptions = {}): Promise<VideoParticipant> {
    const path = await this.#participantPath(roomSidOrName, participantSidOrIdentity, options);
    if (path === null) throw notFound(`participant ${participantSidOrIdentity} in room ${roomSidOrName}`);
    return this.#request("GET", path, undefined, options, ParticipantPayload);
  }

  /**
   * Kicks a participant (Status=disconnected). Idempotent: not found (20404, e.g. the identity already left) → null;
   * a refusal for a participant that is already disconnected returns that participant.
   */
  async disconnectParticipant(roomSidOrName: string, participantSidOrIdentity: string, options: CallOptions = {}): Promise<VideoParticipant | null> {
    let path: string | null;
    try {
      path = await this.#participantPath(roomSidOrName, participantSidOrIdentity, options);
    } catch (error) {
      if (isTwilioApiError(error, TwilioErrorCode.NotFound)) return null; // the room itself is gone
      throw error;
    }
    if (path === null) return null;
    try {
      return await this.#request("POST", path, encodeForm({ Status: "disconnected" }), options, ParticipantPayload);
    } catch (error) {
      if (isTwilioApiError(error, TwilioErrorCode.NotFound)) return null;
      if (!(error instanceof TwilioApiError) || error.kind !== "http" || error.retryable) throw error;
      const current = await this.#request("GET", path, undefined, options, ParticipantPayload).catch((e: unknown) => {
        if (isTwilioApiError(e, TwilioErrorCode.NotFound)) return null;
        throw e;
      });
      if (current === null || current.status === "disconnected") return current;
      throw error;
    }
  }

  // ----- track subscriptions -----

  /**
   * Replaces a subscriber's subscribe rules (POST .../Participants/{sid}/SubscribeRules, form field `Rules` = the JSON
   * array). Semantics, as Twilio documents its Track Subscriptions API and the local server implements it: the rules
   * are the subscriber's, not the publisher's, so to keep X's audio from everyone, every other participant needs a
   * rule excluding it; they hold for tracks published later too; they apply in order, a later rule overriding an
   * earlier one for the tracks both match (so put excludes after a broad include, which reads the same under any
   * precedence); a track no rule matches is not subscribed; until set, a participant has
   * `[{ type: "include", all: true }]`. They belong to that participant (sid): someone who leaves and joins again is a
   * new participant with the default rules, so set them again on participant-connected.
   *
   * The participant is a PA sid or an identity (resolved like getParticipant, reconnecting participants included).
   * Safe to retry (it replaces the whole set). Malformed rules throw a TypeError before any request (Twilio would
   * answer 53215); an absent room or participant is 20404.
   */
  async updateSubscribeRules(
    roomSidOrName: string,
    participantSidOrIdentity: string,
    rules: readonly SubscribeRule[],
    options: CallOptions = {},
  ): Promise<SubscribeRules> {
    const checked = RulesOut.safeParse(rules);
    if (!checked.success) {
      const issues = checked.error.issues.map((i) => `${i.path.join(".") || "(rules)"}: ${i.message}`);
      throw new TypeError(`invalid subscribe rules: ${issues.join("; ")}`);
    }
    const path = await this.#subscriberPath(roomSidOrName, participantSidOrIdentity, options);
    return this.#request("POST", `${path}/SubscribeRules`, encodeForm({ Rules: JSON.stringify(checked.data) }), options, SubscribeRulesPayload);
  }

  /** A subscriber's current rules (Twilio's default, include all with null dates, until set). Absent → 20404. */
  async getSubscribeRules(roomSidOrName: string, participantSidOrIdentity: string, options: CallOptions = {}): Promise<SubscribeRules> {
    const path = await this.#subscriberPath(roomSidOrName, participantSidOrIdentity, options);
    return this.#request("GET", `${path}/SubscribeRules`, undefined, options, SubscribeRulesPayload);
  }

  /** The tracks a participant is subscribed to now (every page). Absent → 20404. */
  async listSubscribedTracks(
    roomSidOrName: string,
    participantSidOrIdentity: string,
    params: ListSubscribedTracksParams = {},
    options: CallOptions = {},
  ): Promise<SubscribedTrack[]> {
    const path = await this.#subscriberPath(roomSidOrName, participantSidOrIdentity, options);
    const query = new URLSearchParams();
    if (params.pageSize) query.set("PageSize", String(params.pageSize));
    const out: SubscribedTrack[] = [];
    for await (const t of this.#paginate(`${path}/SubscribedTracks${queryString(query)}`, "subscribed_tracks", SubscribedTrackPayload, params.limit, options)) {
      out.push(t);
    }
    return out;
  }

  async #subscriberPath(roomSidOrName: string, participantSidOrIdentity: string, options: CallOptions): Promise<string> {
    const path = await this.#participantPath(roomSidOrName, participantSidOrIdentity, options);
    if (path === null) throw notFound(`participant ${participantSidOrIdentity} in room ${roomSidOrName}`);
    return path;
  }

  // ----- addressing -----

  /**
   * Twilio accepts a UniqueName in place of the sid in the path only when it has no reserved characters (its docs);
   * such names ("s1:main") are resolved to the sid through the list filter first. null: no such in-progress room.
   */
  async #roomPath(sidOrName: string, options: CallOptions): Promise<string | null> {
    if (!sidOrName) throw new TypeError("room sid or unique name is required");
    if (ROOM_SID.test(sidOrName) || PATH_SAFE.test(sidOrName)) return roomPath(sidOrName);
    const room = await this.findRoomByName(sidOrName, options);
    return room?.sid ? roomPath(room.sid) : null;
  }

  /**
   * Identities ("alice@example.com") are resolved to a sid via the Identity filter (Twilio's spec names the
   * participant by sid in every path): the connected participant, else one reconnecting, which still holds its
   * place and would come back (so a kick or a rule must reach it too).
   */
  async #participantPath(roomSidOrName: string, participantSidOrIdentity: string, options: CallOptions): Promise<string | null> {
    if (!participantSidOrIdentity) throw new TypeError("participant sid or identity is required");
    const room = await this.#roomPath(roomSidOrName, options);
    if (room === null) return null;
    if (PARTICIPANT_SID.test(participantSidOrIdentity)) return `${room}/Participants/${participantSidOrIdentity}`;
    for (const status of ["connected", "reconnecting"] as const) {
      const query = new URLSearchParams({ Status: status, Identity: participantSidOrIdentity });
      const { items }: { items: VideoParticipant[] } = await this.#request("GET", `${room}/Participants?${query}`, undefined, options, ParticipantPage);
      const match = items.find((p) => p.identity === participantSidOrIdentity && p.sid !== null);
      if (match) return `${room}/Participants/${match.sid}`;
    }
    return null;
  }

  // ----- transport -----

  async *#paginate<T>(firstPath: string, key: string, schema: z.ZodType<T>, limit: number | undefined, options: CallOptions): AsyncGenerator<T> {
    let path: string | null = firstPath;
    let yielded = 0;
    const seen = new Set<string>();
    const page = pageSchema(key, schema);
    while (path) {
      if (seen.has(path)) {
        throw new TwilioApiError({
          status: 0,
          code: null,
          message: `pagination loops back to ${path}`,
          retryable: false,
          kind: "invalid-response",
        });
      }
      seen.add(path);
      const { items, meta }: { items: T[]; meta: { next_page_url?: string | null } } = await this.#request("GET", path, undefined, options, page);
      for (const item of items) {
        if (limit !== undefined && yielded >= limit) return;
        yield item;
        yielded++;
      }
      path = meta.next_page_url ? this.#samePath(meta.next_page_url) : null;
    }
  }

  /** next_page_url is absolute on Twilio's host; keep our base (a proxy or local server) and never leak credentials. */
  #samePath(nextPageUrl: string): string {
    const next = new URL(nextPageUrl, this.baseUrl);
    return next.pathname + next.search;
  }

  /** One logical call: attempts, backoff, time-outs. Resolves to the response body parsed by `schema`. */
  async #request<T>(method: "GET" | "POST", path: string, body: string | undefined, options: CallOptions, schema: z.ZodType<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      let error: TwilioApiError;
      try {
        return await this.#attempt(method, path, body, options.signal, schema);
      } catch (e) {
        if (!(e instanceof TwilioApiError)) throw e; // caller abort or a bug: never retried
        error = e;
      }
      if (!error.retryable || attempt >= this.#maxAttempts) throw error.withAttempts(attempt);
      let delay = backoffMs(attempt - 1, { baseMs: this.#baseDelayMs, maxMs: this.#maxDelayMs, jitter: true, random: this.#random });
      if (error.retryAfterMs !== null) {
        if (error.retryAfterMs > this.#maxRetryAfterMs) throw error.withAttempts(attempt);
        delay = Math.max(delay, error.retryAfterMs);
      }
      await this.#sleep(delay, options.signal);
    }
  }

  async #attempt<T>(method: "GET" | "POST", path: string, body: string | undefined, callerSignal: AbortSignal | undefined, schema: z.ZodType<T>): Promise<T> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = callerSignal ? anySignal([callerSignal, timeout]) : timeout;
    const headers: Record<string, string> = { Authorization: this.#authorization, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/x-www-form-urlencoded";
    let status = 0;
    let text: string;
    let response: Response;
    try {
      response = await this.#fetch(this.baseUrl + path, { method, headers, body, signal });
      status = response.status;
      text = await response.text(); // inside the try: the time-out covers a stalled body too
    } catch (cause) {
      if (callerSignal?.aborted) throw callerSignal.reason;
      const timedOut = timeout.aborted;
      throw new TwilioApiError({
        status,
        code: null,
        message: timedOut
          ? `${method} ${path} timed out after ${this.#timeoutMs} ms`
          : `${method} ${path} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        retryable: true,
        kind: timedOut ? "timeout" : "network",
        cause,
      });
    }

    let json: unknown;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }

    if (!response.ok) {
      const parsed = ErrorBody.safeParse(json);
      const info = parsed.success ? parsed.data : {};
      const code = info.code ?? null;
      throw new TwilioApiError({
        status,
        code,
        message: info.message ?? `${method} ${path} answered HTTP ${status}`,
        moreInfo: info.more_info ?? null,
        retryable: isRetryableStatus(status) || code === TwilioErrorCode.TooManyRequests,
        kind: "http",
        retryAfterMs: parseRetryAfter(response.headers.get("Retry-After"), this.#now()),
      });
    }

    const checked = schema.safeParse(json);
    if (!checked.success) {
      throw new TwilioApiError({
        status,
        code: null,
        message: `${method} ${path}: unexpected response body (${checked.error.issues[0]?.message ?? "not JSON"})`,
        retryable: false,
        kind: "invalid-response",
      });
    }
    return checked.data;
  }
}

const ROOM_SID = /^RM[0-9a-fA-F]{32}$/;
const PARTICIPANT_SID = /^PA[0-9a-fA-F]{32}$/;
/** RFC 3986 unreserved characters only: usable as a path segment without encoding. */
const PATH_SAFE = /^[A-Za-z0-9._~-]+$/;

function roomPath(sidOrName: string): string {
  return `/v1/Rooms/${encodeURIComponent(sidOrName)}`;
}

function notFound(what: string): TwilioApiError {
  return new TwilioApiError({
    status: 404,
    code: TwilioErrorCode.NotFound,
    message: `${what} was not found`,
    moreInfo: "https://www.twilio.com/docs/errors/20404",
    retryable: false,
    kind: "http",
  });
}

function queryString(query: URLSearchParams): string {
  const s = query.toString();
  return s ? `?${s}` : "";
}
