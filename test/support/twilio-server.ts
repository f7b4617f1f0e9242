/**
 * A local Twilio-compatible Video v1 REST server for tests and local development (Node `http`, no framework).
 *
 * Implements the subset in /work/shared/TWILIO.md: rooms (create / fetch by sid or in-progress UniqueName / list with
 * Twilio's page meta / complete), participants (list / fetch / disconnect), the Track Subscriptions API (subscribe
 * rules per subscriber, subscribed tracks), Basic auth, Twilio's error bodies and codes, and signed status callbacks
 * (form-encoded, X-Twilio-Signature with the auth token, as Twilio signs them). Answers follow Twilio's OpenAPI
 * description (test/fixtures/twilio_video_v1.json; test/unit/twilio-openapi.test.ts checks them against it).
 * Media is simulated: connectParticipant / disconnectParticipant / publishTrack stand in for SDK clients, and
 * `subscriptions()` says who would receive whose tracks under the subscribe rules.
 *
 * For tests that cannot call these methods (the workers project runs inside workerd), the same controls are exposed
 * over HTTP under /__local/ (no auth): see `handleControl`.
 *
 * Runs under `node --experimental-strip-types` too: keep to erasable TypeScript (no enums, namespaces or parameter
 * properties; `import type` for types; .ts import paths).
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHmac, randomBytes, randomUUID } from "node:crypto";

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

export const LOCAL_TWILIO_DEFAULTS = {
  accountSid: "AC0123456789abcdef0123456789abcdef",
  authToken: "local-twilio-auth-token-0123456789",
  apiKeySid: "SK0123456789abcdef0123456789abcdef",
  apiKeySecret: "local-twilio-api-key-secret-012345",
} as const;

export interface LocalTwilioOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  accountSid?: string;
  authToken?: string;
  apiKeySid?: string;
  apiKeySecret?: string;
  /**
   * true: POST each status callback to its StatusCallback URL as it happens (in order). A function: hand each
   * callback to it instead. Unset: callbacks queue up for `pendingCallbacks()`.
   */
  deliverCallbacks?: boolean | ((callback: PendingCallback) => Promise<void>);
  /** Epoch-ms clock; room timeouts are evaluated against it on every request and simulation call. */
  now?: () => number;
}

export type RoomStatus = "in-progress" | "completed" | "failed";
/** Twilio's participant statuses (its OpenAPI enum): "reconnecting" while the SDK recovers a dropped connection. */
export type ParticipantStatus = "connected" | "disconnected" | "reconnecting";
export type TrackKind = "audio" | "video" | "data";
export type TrackPriority = "low" | "standard" | "high";

/** A published track (simulated: no media flows). */
export interface LocalTrack {
  sid: string;
  publisherSid: string;
  kind: TrackKind;
  name: string;
  priority: TrackPriority;
  publishedAt: number;
}

/** One subscribe rule as Twilio documents it: `all: true` alone, or filters that must all match (AND). */
export interface LocalSubscribeRule {
  type: "include" | "exclude";
  all?: true;
  publisher?: string;
  track?: string;
  kind?: TrackKind;
  priority?: TrackPriority;
}

/** What a subscriber receives: for each kind, the identities of the publishers whose track(s) of that kind it gets. */
export interface ReceivedMedia {
  audio: string[];
  video: string[];
  data: string[];
}

export interface SubscribeRulesLogEntry {
  method: "GET" | "POST";
  roomSid: string;
  roomName: string;
  /** The subscriber (null: the path named no participant the server knows). */
  participantSid: string | null;
  identity: string | null;
  /** POST: the `Rules` form field exactly as received (null when absent). */
  rawRules: string | null;
  /** POST: the rules as stored when accepted; null when refused, and on GET. */
  rules: LocalSubscribeRule[] | null;
  /** HTTP status answered, and the Twilio error code when refused. */
  status: number;
  code: number | null;
}

export interface LocalParticipant {
  sid: string;
  roomSid: string;
  identity: string;
  status: ParticipantStatus;
  connectedAt: number;
  disconnectedAt: number | null;
  updatedAt: number;
}

export interface LocalRoom {
  sid: string;
  uniqueName: string;
  status: RoomStatus;
  type: string;
  maxParticipants: number;
  maxParticipantDuration: number;
  statusCallback: string | null;
  statusCallbackMethod: "POST" | "GET";
  emptyRoomTimeout: number;
  unusedRoomTimeout: number;
  videoCodecs: string[];
  mediaRegion: string;
  audioOnly: boolean;
  largeRoom: boolean;
  recordParticipantsOnConnect: boolean;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
  /** Why it ended: REST completion or an empty/unused timeout. */
  endReason: "api" | "empty-timeout" | "unused-timeout" | "simulated" | null;
  participants: Map<string, LocalParticipant>;
  /** Published tracks by track sid (MT...), of participants still in the room. */
  tracks: Map<string, LocalTrack>;
  /** Subscribe rules by subscriber participant sid; absent: Twilio's default, include all. */
  subscribeRules: Map<string, { rules: LocalSubscribeRule[]; createdAt: number; updatedAt: number }>;
  everJoined: boolean;
  lastLeftAt: number | null;
  nextSequenceNumber: number;
}

export interface PendingCallback {
  url: string;
  method: "POST" | "GET";
  /** The form fields (for GET they are also in `url`). */
  params: Record<string, string>;
  /** X-Twilio-Signature, HMAC-SHA1 with the auth token over url + sorted params. */
  signature: string;
  /** Form-encoded body for POST, "" for GET. */
  body: string;
  /** Twilio's idempotency header value; identical on a redelivery. */
  idempotencyToken: string;
  event: string;
  roomSid: string;
}

export interface CallbackDelivery {
  callback: PendingCallback;
  status: number | null;
  error: string | null;
}

interface FaultMatch {
  method?: string;
  /** String: path prefix (e.g. "/v1/Rooms"); RegExp: tested against the path. */
  path?: string | RegExp;
  /** How many matching requests this applies to. Default 1. */
  times?: number;
}
export type FaultRule = FaultMatch &
  (
    | { kind: "status"; status: number; code?: number; message?: string; retryAfter?: number | string }
    /** Hold the request without answering for `ms` (default: until the client gives up), then drop the socket. */
    | { kind: "hang"; ms?: number }
    /** Process the request (side effects happen) and then drop the socket without answering. */
    | { kind: "lose-response" }
    /** Drop the socket without processing. */
    | { kind: "reset" }
    /** Process the request, then answer `rewrite(body)` instead of the JSON body (an odd answer from Twilio). */
    | { kind: "rewrite"; rewrite: (body: any) => unknown }
  );

export interface RequestLogEntry {
  method: string;
  path: string;
  /** HTTP status answered, or the fault that replaced the answer. */
  outcome: number | "hang" | "lost" | "reset";
}

export interface PublishTrackOptions {
  kind: TrackKind;
  name?: string;
  priority?: TrackPriority;
}

export class LocalTwilioError extends Error {
  readonly code: number;
  readonly status: number;
  constructor(status: number, code: number, message: string) {
    super(message);
    this.name = "LocalTwilioError";
    this.status = status;
    this.code = code;
  }
}

export interface LocalTwilio {
  port: number;
  /** http://host:port — use as TWILIO_API_BASE. */
  url: string;
  credentials: { accountSid: string; authToken: string; apiKeySid: string; apiKeySecret: string };
  /** Live state, keyed by room sid (inspect, don't mutate). */
  rooms: Map<string, LocalRoom>;
  requests: RequestLogEntry[];
  /** Every SubscribeRules request (GET and POST), accepted or refused, in arrival order. */
  subscribeRulesLog: SubscribeRulesLogEntry[];
  deliveries: CallbackDelivery[];
  close(): Promise<void>;
  failNext(rule: FaultRule): void;
  clearFaults(): void;
  findRoom(sidOrName: string): LocalRoom | undefined;
  /** A client joins; `tracks` it publishes at once (e.g. ["audio", "video"]), each with a track-added callback. */
  connectParticipant(roomSidOrName: string, identity: string, options?: { tracks?: Array<TrackKind | PublishTrackOptions> }): LocalParticipant;
  disconnectParticipant(roomSidOrName: string, participantSidOrIdentity: string): LocalParticipant;
  /** The SDK lost its connection and is recovering it (true), or recovered it (false). No callback, as on Twilio. */
  setReconnecting(roomSidOrName: string, participantSidOrIdentity: string, reconnecting: boolean): LocalParticipant;
  /** A participant publishes a track (track-added callback). Names default to the kind; unique per publisher. */
  publishTrack(roomSidOrName: string, participantSidOrIdentity: string, track: TrackKind | PublishTrackOptions): LocalTrack;
  /** A participant unpublishes a track, by sid or name (track-removed callback). */
  unpublishTrack(roomSidOrName: string, participantSidOrIdentity: string, trackSidOrName: string): LocalTrack;
  /**
   * Who receives whose tracks now, under each subscriber's rules: for every participant in the room (connected or
   * reconnecting) by identity, the identities of the publishers whose audio / video / data it is subscribed to.
   */
  subscriptions(roomSidOrName: string): Record<string, ReceivedMedia>;
  /** Ends a room as a timeout would (participants disconnected, room-ended). */
  endRoom(roomSidOrName: string): LocalRoom;
  /** Ends rooms whose empty/unused timeout has passed by the server's clock. */
  sweepTimeouts(): void;
  /** Drains and returns callbacks not yet delivered (all of them unless deliverCallbacks is set). */
  pendingCallbacks(): PendingCallback[];
  /** Resolves once every callback handed to delivery so far has been attempted. */
  flushDeliveries(): Promise<void>;
  /** Forget rooms, faults, logs and callbacks. */
  reset(): void;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const sid = (prefix: string) => prefix + randomBytes(16).toString("hex");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const moreInfo = (code: number) => `https://www.twilio.com/docs/errors/${code}`;
const VALID_ROOM_TYPES = new Set(["group", "group-small", "peer-to-peer", "go"]);
const MAX_BODY_BYTES = 1024 * 1024;

/** Twilio's request signature: base64 HMAC-SHA1(authToken, url + each param name+value sorted by name). */
export function signTwilioRequest(authToken: string, url: string, params: Record<string, string>): string {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac("sha1", authToken).update(Buffer.from(data, "utf-8")).digest("base64");
}

function parseWholeNumber(value: string | null): number | null | "invalid" {
  if (value === null || value === "") return null;
  return /^\d+$/.test(value) ? Number(value) : "invalid";
}

function parseBool(value: string | null, fallback: boolean): boolean {
  if (value === null) return fallback;
  return value.toLowerCase() === "true";
}

const TRACK_KINDS: ReadonlySet<string> = new Set(["audio", "video", "data"]);
const TRACK_PRIORITIES: ReadonlySet<string> = new Set(["low", "standard", "high"]);
const RULE_FIELDS: ReadonlySet<string> = new Set(["type", "all", "publisher", "track", "kind", "priority"]);
/** At most 20 rules per subscriber (Twilio error 53215). */
export const MAX_SUBSCRIBE_RULES = 20;
/** What a participant has until rules are set for it: Twilio's subscribe-to-all. */
const DEFAULT_SUBSCRIBE_RULES: readonly LocalSubscribeRule[] = [{ type: "include", all: true }];

/**
 * The `Rules` form field as Twilio checks it; each refusal is 400 with error 53215 ("Invalid Subscribe Rule(s)"),
 * for the causes Twilio's error page lists: not a JSON array, an empty array, more than 20 rules, a rule without a
 * `type` of include/exclude, `all` other than true or with another filter, a `kind` other than audio/video/data.
 * Beyond that page, and conservatively: an unknown field, a `priority` other than low/standard/high, an empty
 * publisher/track, and a rule with no filter at all are refused too. A null field counts as absent (GET answers every
 * field, null when unset, so rules read back can be sent again).
 */
export function parseSubscribeRules(raw: string | null): LocalSubscribeRule[] {
  const invalid = (why: string) => new LocalTwilioError(400, 53215, `Invalid Subscribe Rule(s): ${why}`);
  if (raw === null || raw === "") throw invalid("Rules is required");
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalid("Rules is not valid JSON");
  }
  if (!Array.isArray(value)) throw invalid("Rules must be a JSON array of rules");
  if (value.length === 0) throw invalid("an empty set of rules is not allowed");
  if (value.length > MAX_SUBSCRIBE_RULES) throw invalid(`at most ${MAX_SUBSCRIBE_RULES} rules are allowed per subscriber`);
  return value.map((item: unknown, i): LocalSubscribeRule => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) throw invalid(`rule ${i} is not an object`);
    const fields = Object.fromEntries(Object.entries(item).filter(([, v]) => v !== null)) as Record<string, unknown>;
    const unknown = Object.keys(fields).filter((k) => !RULE_FIELDS.has(k));
    if (unknown.length > 0) throw invalid(`rule ${i} has unknown field(s) ${unknown.join(", ")}`);
    const { type, all, publisher, track, kind, priority } = fields;
    if (type !== "include" && type !== "exclude") throw invalid(`rule ${i} needs a type of include or exclude`);
    if (all !== undefined) {
      if (all !== true) throw invalid(`rule ${i}: all must be true`);
      if (publisher !== undefined || track !== undefined || kind !== undefined || priority !== undefined) {
        throw invalid(`rule ${i}: a rule with all takes no other filter`);
      }
      return { type, all: true };
    }
    if (kind !== undefined && (typeof kind !== "string" || !TRACK_KINDS.has(kind))) throw invalid(`rule ${i}: kind must be audio, video or data`);
    if (priority !== undefined && (typeof priority !== "string" || !TRACK_PRIORITIES.has(priority))) {
      throw invalid(`rule ${i}: priority must be low, standard or high`);
    }
    for (const [name, v] of [
      ["publisher", publisher],
      ["track", track],
    ] as const) {
      if (v !== undefined && (typeof v !== "string" || v === "")) throw invalid(`rule ${i}: ${name} must be a non-empty string`);
    }
    if (publisher === undefined && track === undefined && kind === undefined && priority === undefined) throw invalid(`rule ${i} has no filter`);
    const rule: LocalSubscribeRule = { type };
    if (publisher !== undefined) rule.publisher = publisher as string;
    if (track !== undefined) rule.track = track as string;
    if (kind !== undefined) rule.kind = kind as TrackKind;
    if (priority !== undefined) rule.priority = priority as TrackPriority;
    return rule;
  });
}

/** Every filter of a rule must match (they AND); `all` matches every track. Publisher: identity or PA sid; track: name or MT sid. */
function ruleMatches(rule: LocalSubscribeRule, track: LocalTrack, publisher: LocalParticipant): boolean {
  if (rule.all) return true;
  return (
    (rule.publisher === undefined || rule.publisher === publisher.identity || rule.publisher === publisher.sid) &&
    (rule.track === undefined || rule.track === track.name || rule.track === track.sid) &&
    (rule.kind === undefined || rule.kind === track.kind) &&
    (rule.priority === undefined || rule.priority === track.priority)
  );
}

/** Rules apply in order and the last one that matches a track decides; a track no rule matches is not subscribed. */
function subscribedUnder(rules: readonly LocalSubscribeRule[], track: LocalTrack, publisher: LocalParticipant): boolean {
  let subscribed = false;
  for (const rule of rules) if (ruleMatches(rule, track, publisher)) subscribed = rule.type === "include";
  return subscribed;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new LocalTwilioError(413, 20001, "Request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf-8")));
    req.on("error", reject);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------------------------

export async function startLocalTwilio(options: LocalTwilioOptions = {}): Promise<LocalTwilio> {
  const credentials = {
    accountSid: options.accountSid ?? LOCAL_TWILIO_DEFAULTS.accountSid,
    authToken: options.authToken ?? LOCAL_TWILIO_DEFAULTS.authToken,
    apiKeySid: options.apiKeySid ?? LOCAL_TWILIO_DEFAULTS.apiKeySid,
    apiKeySecret: options.apiKeySecret ?? LOCAL_TWILIO_DEFAULTS.apiKeySecret,
  };
  const now = options.now ?? Date.now;
  const acceptedAuth = new Set([
    "Basic " + Buffer.from(`${credentials.apiKeySid}:${credentials.apiKeySecret}`).toString("base64"),
    "Basic " + Buffer.from(`${credentials.accountSid}:${credentials.authToken}`).toString("base64"),
  ]);

  const rooms = new Map<string, LocalRoom>();
  const requests: RequestLogEntry[] = [];
  const subscribeRulesLog: SubscribeRulesLogEntry[] = [];
  const deliveries: CallbackDelivery[] = [];
  let faults: Array<FaultRule & { remaining: number }> = [];
  let pending: PendingCallback[] = [];
  let deliveryChain: Promise<void> = Promise.resolve();
  const hangTimers = new Set<ReturnType<typeof setTimeout>>();
  let baseUrl = "";

  // ----- state transitions (shared by REST, simulation methods and control endpoints) -----

  function findRoom(sidOrName: string): LocalRoom | undefined {
    const bySid = rooms.get(sidOrName);
    if (bySid) return bySid;
    // A UniqueName addresses the room only while it is in progress, as on Twilio.
    for (const room of rooms.values()) {
      if (room.uniqueName === sidOrName && room.status === "in-progress") return room;
    }
    return undefined;
  }

  function requireRoom(sidOrName: string, path: string): LocalRoom {
    const room = findRoom(sidOrName);
    if (!room) throw new LocalTwilioError(404, 20404, `The requested resource ${path} was not found`);
    return room;
  }

  function findParticipant(room: LocalRoom, sidOrIdentity: string): LocalParticipant | undefined {
    const bySid = room.participants.get(sidOrIdentity);
    if (bySid) return bySid;
    // An identity names the participant still in the room (connected, or reconnecting), as on Twilio.
    for (const p of room.participants.values()) {
      if (p.identity === sidOrIdentity && p.status !== "disconnected") return p;
    }
    return undefined;
  }

  function emit(room: LocalRoom, event: string, extra: Record<string, string> = {}): void {
    const sequenceNumber = room.nextSequenceNumber++;
    if (!room.statusCallback) return;
    const params: Record<string, string> = {
      AccountSid: credentials.accountSid,
      RoomName: room.uniqueName,
      RoomSid: room.sid,
      RoomStatus: room.status,
      RoomType: room.type,
      StatusCallbackEvent: event,
      Timestamp: new Date(now()).toISOString(),
      SequenceNumber: String(sequenceNumber),
      ...extra,
    };
    const body = new URLSearchParams(params).toString();
    const isGet = room.statusCallbackMethod === "GET";
    const url = isGet ? room.statusCallback + (room.statusCallback.includes("?") ? "&" : "?") + body : room.statusCallback;
    const callback: PendingCallback = {
      url,
      method: room.statusCallbackMethod,
      params,
      signature: signTwilioRequest(credentials.authToken, url, isGet ? {} : params),
      body: isGet ? "" : body,
      idempotencyToken: `${credentials.accountSid}-${randomUUID()}`,
      event,
      roomSid: room.sid,
    };
    if (options.deliverCallbacks) deliveryChain = deliveryChain.then(() => deliver(callback));
    else pending.push(callback);
  }

  async function deliver(callback: PendingCallback): Promise<void> {
    const record: CallbackDelivery = { callback, status: null, error: null };
    deliveries.push(record);
    try {
      if (typeof options.deliverCallbacks === "function") {
        await options.deliverCallbacks(callback);
        return;
      }
      const headers: Record<string, string> = {
        "X-Twilio-Signature": callback.signature,
        "I-Twilio-Idempotency-Token": callback.idempotencyToken,
        "User-Agent": "TwilioProxy/1.1",
      };
      if (callback.method === "POST") headers["Content-Type"] = "application/x-www-form-urlencoded";
      const res = await fetch(callback.url, {
        method: callback.method,
        headers,
        body: callback.method === "POST" ? callback.body : undefined,
        signal: AbortSignal.timeout(5000),
      });
      record.status = res.status;
      await res.arrayBuffer();
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
    }
  }

  function participantFields(p: LocalParticipant): Record<string, string> {
    return { ParticipantSid: p.sid, ParticipantStatus: p.status, ParticipantIdentity: p.identity };
  }

  function removeTrack(room: LocalRoom, participant: LocalParticipant, track: LocalTrack): void {
    room.tracks.delete(track.sid);
    emit(room, "track-removed", { ...participantFields(participant), TrackSid: track.sid, TrackKind: track.kind, TrackName: track.name });
  }

  function disconnect(room: LocalRoom, participant: LocalParticipant): void {
    if (participant.status === "disconnected") return;
    const at = now();
    participant.status = "disconnected";
    participant.disconnectedAt = at;
    participant.updatedAt = at;
    room.updatedAt = at;
    for (const track of [...room.tracks.values()]) if (track.publisherSid === participant.sid) removeTrack(room, participant, track);
    emit(room, "participant-disconnected", {
      ParticipantSid: participant.sid,
      ParticipantStatus: "disconnected",
      ParticipantIdentity: participant.identity,
      ParticipantDuration: String(Math.floor((at - participant.connectedAt) / 1000)),
    });
    if (connectedCount(room) === 0) room.lastLeftAt = at;
  }

  /** Participants in the room: connected, or reconnecting (they still hold their place). */
  function connectedCount(room: LocalRoom): number {
    let n = 0;
    for (const p of room.participants.values()) if (p.status !== "disconnected") n++;
    return n;
  }

  function endRoomNow(room: LocalRoom, reason: NonNullable<LocalRoom["endReason"]>): void {
    if (room.status !== "in-progress") return;
    for (const p of room.participants.values()) disconnect(room, p);
    const at = now();
    room.status = "completed";
    room.endedAt = at;
    room.updatedAt = at;
    room.endReason = reason;
    emit(room, "room-ended", { RoomDuration: String(Math.floor((at - room.createdAt) / 1000)) });
  }

  function sweepTimeouts(): void {
    const at = now();
    for (const room of rooms.values()) {
      if (room.status !== "in-progress") continue;
      for (const p of room.participants.values()) {
        if (p.status !== "disconnected" && at - p.connectedAt >= room.maxParticipantDuration * 1000) disconnect(room, p);
      }
      if (connectedCount(room) > 0) continue;
      if (!room.everJoined && at - room.createdAt >= room.unusedRoomTimeout * 60_000) {
        endRoomNow(room, "unused-timeout");
      } else if (room.everJoined && room.lastLeftAt !== null && at - room.lastLeftAt >= room.emptyRoomTimeout * 60_000) {
        endRoomNow(room, "empty-timeout");
      }
    }
  }

  function connectParticipant(roomSidOrName: string, identity: string, options: { tracks?: Array<TrackKind | PublishTrackOptions> } = {}): LocalParticipant {
    sweepTimeouts();
    if (!identity) throw new LocalTwilioError(400, 53000, "identity is required");
    const room = findRoom(roomSidOrName);
    if (!room) throw new LocalTwilioError(404, 53106, "Room not found");
    if (room.status !== "in-progress") throw new LocalTwilioError(400, 53118, "Room completed");
    // A second connection with the same identity kicks the first (53205 on that client).
    const existing = findParticipant(room, identity);
    if (existing && existing.identity === identity) disconnect(room, existing);
    if (connectedCount(room) >= room.maxParticipants) {
      throw new LocalTwilioError(400, 53105, "Room contains too many Participants");
    }
    const at = now();
    const participant: LocalParticipant = {
      sid: sid("PA"),
      roomSid: room.sid,
      identity,
      status: "connected",
      connectedAt: at,
      disconnectedAt: null,
      updatedAt: at,
    };
    room.participants.set(participant.sid, participant);
    room.everJoined = true;
    room.lastLeftAt = null;
    room.updatedAt = at;
    emit(room, "participant-connected", {
      ParticipantSid: participant.sid,
      ParticipantStatus: "connected",
      ParticipantIdentity: identity,
    });
    for (const track of options.tracks ?? []) publish(room, participant, track);
    return { ...participant };
  }

  function requirePresent(roomSidOrName: string, participantSidOrIdentity: string): { room: LocalRoom; participant: LocalParticipant } {
    sweepTimeouts();
    const room = findRoom(roomSidOrName);
    if (!room) throw new LocalTwilioError(404, 53106, "Room not found");
    const participant = findParticipant(room, participantSidOrIdentity);
    if (!participant || participant.status === "disconnected") {
      throw new LocalTwilioError(404, 20404, `Participant ${participantSidOrIdentity} not found`);
    }
    return { room, participant };
  }

  function setReconnecting(roomSidOrName: string, participantSidOrIdentity: string, reconnecting: boolean): LocalParticipant {
    const { room, participant } = requirePresent(roomSidOrName, participantSidOrIdentity);
    participant.status = reconnecting ? "reconnecting" : "connected";
    participant.updatedAt = now();
    room.updatedAt = participant.updatedAt;
    return { ...participant };
  }

  function publish(room: LocalRoom, participant: LocalParticipant, spec: TrackKind | PublishTrackOptions): LocalTrack {
    const options = typeof spec === "string" ? { kind: spec } : spec;
    if (!TRACK_KINDS.has(options.kind)) throw new LocalTwilioError(400, 53300, `unknown track kind ${String(options.kind)}`);
    if (participant.status !== "connected") throw new LocalTwilioError(400, 53300, "only a connected participant can publish");
    const name = options.name ?? options.kind;
    for (const t of room.tracks.values()) {
      if (t.publisherSid === participant.sid && t.name === name) throw new LocalTwilioError(400, 53304, "Track name is duplicated");
    }
    const track: LocalTrack = {
      sid: sid("MT"),
      publisherSid: participant.sid,
      kind: options.kind,
      name,
      priority: options.priority ?? "standard",
      publishedAt: now(),
    };
    room.tracks.set(track.sid, track);
    emit(room, "track-added", { ...participantFields(participant), TrackSid: track.sid, TrackKind: track.kind, TrackName: track.name });
    return { ...track };
  }

  function publishTrack(roomSidOrName: string, participantSidOrIdentity: string, spec: TrackKind | PublishTrackOptions): LocalTrack {
    const { room, participant } = requirePresent(roomSidOrName, participantSidOrIdentity);
    return publish(room, participant, spec);
  }

  function unpublishTrack(roomSidOrName: string, participantSidOrIdentity: string, trackSidOrName: string): LocalTrack {
    const { room, participant } = requirePresent(roomSidOrName, participantSidOrIdentity);
    const track = [...room.tracks.values()].find((t) => t.publisherSid === participant.sid && (t.sid === trackSidOrName || t.name === trackSidOrName));
    if (!track) throw new LocalTwilioError(404, 20404, `Track ${trackSidOrName} not found`);
    removeTrack(room, participant, track);
    return { ...track };
  }

  function rulesOf(room: LocalRoom, subscriber: LocalParticipant): readonly LocalSubscribeRule[] {
    return room.subscribeRules.get(subscriber.sid)?.rules ?? DEFAULT_SUBSCRIBE_RULES;
  }

  /** The tracks a subscriber receives: others' tracks (never its own) that its rules subscribe it to. */
  function subscribedTracks(room: LocalRoom, subscriber: LocalParticipant): LocalTrack[] {
    if (subscriber.status === "disconnected") return [];
    const rules = rulesOf(room, subscriber);
    return [...room.tracks.values()].filter((track) => {
      const publisher = room.participants.get(track.publisherSid);
      return publisher !== undefined && publisher.sid !== subscriber.sid && subscribedUnder(rules, track, publisher);
    });
  }

  function subscriptions(roomSidOrName: string): Record<string, ReceivedMedia> {
    sweepTimeouts();
    const room = findRoom(roomSidOrName);
    if (!room) throw new LocalTwilioError(404, 53106, "Room not found");
    const out: Record<string, ReceivedMedia> = {};
    for (const subscriber of room.participants.values()) {
      if (subscriber.status === "disconnected") continue;
      const received: Record<TrackKind, Set<string>> = { audio: new Set(), video: new Set(), data: new Set() };
      for (const track of subscribedTracks(room, subscriber)) received[track.kind].add(room.participants.get(track.publisherSid)!.identity);
      out[subscriber.identity] = { audio: [...received.audio].sort(), video: [...received.video].sort(), data: [...received.data].sort() };
    }
    return out;
  }

  function disconnectParticipant(roomSidOrName: string, participantSidOrIdentity: string): LocalParticipant {
    sweepTimeouts();
    const room = findRoom(roomSidOrName);
    if (!room) throw new LocalTwilioError(404, 53106, "Room not found");
    const participant = findParticipant(room, participantSidOrIdentity);
    if (!participant) throw new LocalTwilioError(404, 20404, `Participant ${participantSidOrIdentity} not found`);
    disconnect(room, participant);
    return { ...participant };
  }

  function endRoom(roomSidOrName: string): LocalRoom {
    const room = findRoom(roomSidOrName);
    if (!room) throw new LocalTwilioError(404, 53106, "Room not found");
    endRoomNow(room, "simulated");
    return room;
  }

  // ----- JSON shapes -----

  function roomJson(room: LocalRoom) {
    const url = `${baseUrl}/v1/Rooms/${room.sid}`;
    return {
      sid: room.sid,
      status: room.status,
      date_created: iso(room.createdAt),
      date_updated: iso(room.updatedAt),
      account_sid: credentials.accountSid,
      enable_turn: true,
      unique_name: room.uniqueName,
      status_callback: room.statusCallback,
      status_callback_method: room.statusCallbackMethod,
      end_time: room.endedAt === null ? null : iso(room.endedAt),
      duration: room.endedAt === null ? null : Math.floor((room.endedAt - room.createdAt) / 1000),
      type: room.type,
      max_participants: room.maxParticipants,
      max_participant_duration: room.maxParticipantDuration,
      max_concurrent_published_tracks: 170,
      record_participants_on_connect: room.recordParticipantsOnConnect,
      video_codecs: room.videoCodecs,
      media_region: room.mediaRegion,
      audio_only: room.audioOnly,
      empty_room_timeout: room.emptyRoomTimeout,
      unused_room_timeout: room.unusedRoomTimeout,
      large_room: room.largeRoom,
      url,
      links: {
        participants: `${url}/Participants`,
        recordings: `${url}/Recordings`,
        recording_rules: `${url}/RecordingRules`,
      },
    };
  }

  function participantJson(p: LocalParticipant) {
    const url = `${baseUrl}/v1/Rooms/${p.roomSid}/Participants/${p.sid}`;
    return {
      sid: p.sid,
      room_sid: p.roomSid,
      account_sid: credentials.accountSid,
      status: p.status,
      identity: p.identity,
      date_created: iso(p.connectedAt),
      date_updated: iso(p.updatedAt),
      start_time: iso(p.connectedAt),
      end_time: p.disconnectedAt === null ? null : iso(p.disconnectedAt),
      duration: p.disconnectedAt === null ? null : Math.floor((p.disconnectedAt - p.connectedAt) / 1000),
      url,
      links: {
        published_tracks: `${url}/PublishedTracks`,
        subscribed_tracks: `${url}/SubscribedTracks`,
        subscribe_rules: `${url}/SubscribeRules`,
        anonymize: `${url}/Anonymize`,
      },
    };
  }

  /** As Twilio answers them (its OpenAPI examples): every rule field present, null when unset. */
  function subscribeRulesJson(room: LocalRoom, subscriber: LocalParticipant) {
    const stored = room.subscribeRules.get(subscriber.sid);
    return {
      participant_sid: subscriber.sid,
      room_sid: room.sid,
      date_created: stored ? iso(stored.createdAt) : null,
      date_updated: stored ? iso(stored.updatedAt) : null,
      rules: (stored?.rules ?? DEFAULT_SUBSCRIBE_RULES).map((r) => ({
        type: r.type,
        all: r.all ?? null,
        publisher: r.publisher ?? null,
        track: r.track ?? null,
        kind: r.kind ?? null,
        priority: r.priority ?? null,
      })),
    };
  }

  function subscribedTrackJson(room: LocalRoom, subscriber: LocalParticipant, track: LocalTrack) {
    return {
      sid: track.sid,
      participant_sid: subscriber.sid,
      publisher_sid: track.publisherSid,
      room_sid: room.sid,
      name: track.name,
      date_created: iso(track.publishedAt),
      date_updated: iso(track.publishedAt),
      enabled: true,
      kind: track.kind,
      url: `${baseUrl}/v1/Rooms/${room.sid}/Participants/${subscriber.sid}/SubscribedTracks/${track.sid}`,
    };
  }

  /** Twilio's list shape: items under `key`, and meta with absolute page URLs. */
  function page<T>(key: string, path: string, query: URLSearchParams, items: T[]) {
    const pageSizeRaw = parseWholeNumber(query.get("PageSize"));
    const pageRaw = parseWholeNumber(query.get("Page"));
    if (pageSizeRaw === "invalid" || (pageSizeRaw !== null && (pageSizeRaw < 1 || pageSizeRaw > 1000))) {
      throw new LocalTwilioError(400, 20001, "PageSize must be between 1 and 1000");
    }
    if (pageRaw === "invalid") throw new LocalTwilioError(400, 20001, "Page is invalid");
    const pageSize = pageSizeRaw ?? 50;
    const pageNo = pageRaw ?? 0;
    const slice = items.slice(pageNo * pageSize, (pageNo + 1) * pageSize);
    const link = (n: number) => {
      const q = new URLSearchParams(query);
      q.set("PageSize", String(pageSize));
      q.set("Page", String(n));
      if (n === 0) q.delete("PageToken");
      else q.set("PageToken", `PT${n}`);
      return `${baseUrl}${path}?${q.toString()}`;
    };
    const hasNext = (pageNo + 1) * pageSize < items.length;
    return {
      [key]: slice,
      meta: {
        page: pageNo,
        page_size: pageSize,
        first_page_url: link(0),
        previous_page_url: pageNo > 0 ? link(pageNo - 1) : null,
        url: link(pageNo),
        next_page_url: hasNext ? link(pageNo + 1) : null,
        key,
      },
    };
  }

  // ----- REST routes -----

  function createRoom(form: URLSearchParams) {
    const type = form.get("Type") ?? "group";
    if (!VALID_ROOM_TYPES.has(type)) throw new LocalTwilioError(400, 53108, "RoomType is not valid");
    const maxParticipants = parseWholeNumber(form.get("MaxParticipants"));
    if (maxParticipants === "invalid" || (maxParticipants !== null && (maxParticipants < 1 || maxParticipants > 50))) {
      throw new LocalTwilioError(400, 53107, "MaxParticipants is out of range");
    }
    const timeouts: number[] = [];
    for (const field of ["EmptyRoomTimeout", "UnusedRoomTimeout"]) {
      const value = parseWholeNumber(form.get(field));
      if (value === "invalid" || (value !== null && (value < 1 || value > 60))) {
        throw new LocalTwilioError(400, 53109, "Timeout is out of range");
      }
      timeouts.push(value ?? 5);
    }
    const maxDuration = parseWholeNumber(form.get("MaxParticipantDuration"));
    if (maxDuration === "invalid" || (maxDuration !== null && (maxDuration < 600 || maxDuration > 86400))) {
      throw new LocalTwilioError(400, 53123, "MaxParticipantDuration is out of range");
    }
    const method = (form.get("StatusCallbackMethod") ?? "POST").toUpperCase();
    if (method !== "POST" && method !== "GET") throw new LocalTwilioError(400, 53110, "StatusCallbackMethod is invalid");
    const statusCallback = form.get("StatusCallback") || null;
    if (statusCallback !== null) {
      let ok = false;
      try {
        ok = ["http:", "https:"].includes(new URL(statusCallback).protocol);
      } catch {
        ok = false;
      }
      if (!ok) throw new LocalTwilioError(400, 53111, "StatusCallback is invalid");
    }
    const roomSid = sid("RM");
    const uniqueName = form.get("UniqueName") || roomSid;
    if (findRoom(uniqueName)?.status === "in-progress") throw new LocalTwilioError(400, 53113, "Room exists");
    const at = now();
    const room: LocalRoom = {
      sid: roomSid,
      uniqueName,
      status: "in-progress",
      type,
      maxParticipants: maxParticipants ?? 50,
      maxParticipantDuration: maxDuration ?? 14400,
      statusCallback,
      statusCallbackMethod: method,
      emptyRoomTimeout: timeouts[0],
      unusedRoomTimeout: timeouts[1],
      videoCodecs: form.getAll("VideoCodecs").length ? form.getAll("VideoCodecs") : ["VP8", "H264"],
      mediaRegion: form.get("MediaRegion") ?? "us1",
      audioOnly: parseBool(form.get("AudioOnly"), false),
      largeRoom: parseBool(form.get("LargeRoom"), false),
      recordParticipantsOnConnect: parseBool(form.get("RecordParticipantsOnConnect"), false),
      createdAt: at,
      updatedAt: at,
      endedAt: null,
      endReason: null,
      participants: new Map(),
      tracks: new Map(),
      subscribeRules: new Map(),
      everJoined: false,
      lastLeftAt: null,
      nextSequenceNumber: 0,
    };
    rooms.set(room.sid, room);
    emit(room, "room-created");
    return room;
  }

  function listRooms(query: URLSearchParams) {
    // Twilio's spec: "Read only the rooms with this status. Can be: `in-progress` (default) or `completed`".
    const status = query.get("Status") || "in-progress";
    const uniqueName = query.get("UniqueName");
    // Newest first, as Twilio lists rooms.
    const matching = [...rooms.values()]
      .filter((r) => r.status === status && (!uniqueName || r.uniqueName === uniqueName))
      .reverse()
      .map(roomJson);
    return page("rooms", "/v1/Rooms", query, matching);
  }

  interface Reply {
    status: number;
    body: unknown;
  }

  function route(method: string, path: string, query: URLSearchParams, form: URLSearchParams): Reply {
    let segments: string[];
    try {
      segments = path
        .replace(/\.json$/, "")
        .split("/")
        .filter(Boolean)
        .map((s) => decodeURIComponent(s));
    } catch {
      throw new LocalTwilioError(404, 20404, `The requested resource ${path} was not found`);
    }
    const notAllowed = () => new LocalTwilioError(405, 20004, "Method not allowed");
    if (segments[0] !== "v1" || segments[1] !== "Rooms") {
      throw new LocalTwilioError(404, 20404, `The requested resource ${path} was not found`);
    }
    const resourcePath = "/" + segments.slice(1).join("/");
    if (segments.length === 2) {
      if (method === "POST") return { status: 201, body: roomJson(createRoom(form)) };
      if (method === "GET") return { status: 200, body: listRooms(query) };
      throw notAllowed();
    }
    const room = requireRoom(segments[2], resourcePath);
    if (segments.length === 3) {
      if (method === "GET") return { status: 200, body: roomJson(room) };
      if (method !== "POST") throw notAllowed();
      if (form.get("Status") !== "completed" || room.status !== "in-progress") {
        throw new LocalTwilioError(400, 53112, "Status is invalid");
      }
      endRoomNow(room, "api");
      return { status: 202, body: roomJson(room) };
    }
    if (segments[3] !== "Participants" || segments.length > 7) {
      throw new LocalTwilioError(404, 20404, `The requested resource ${resourcePath} was not found`);
    }
    if (segments.length === 4) {
      if (method !== "GET") throw notAllowed();
      return { status: 200, body: page("participants", `/v1/Rooms/${room.sid}/Participants`, query, listParticipants(room, query)) };
    }
    const participant = findParticipant(room, segments[4]);
    if (segments[5] === "SubscribeRules" && segments.length === 6) return subscribeRulesRoute(method, room, participant, form, resourcePath);
    if (!participant) throw new LocalTwilioError(404, 20404, `The requested resource ${resourcePath} was not found`);
    if (segments[5] === "SubscribedTracks") {
      if (method !== "GET") throw notAllowed();
      const tracks = subscribedTracks(room, participant);
      if (segments.length === 6) {
        const list = tracks.map((t) => subscribedTrackJson(room, participant, t));
        return { status: 200, body: page("subscribed_tracks", `/v1/Rooms/${room.sid}/Participants/${participant.sid}/SubscribedTracks`, query, list) };
      }
      // By sid only: track names are not unique on the subscriber's side (Twilio's spec).
      const track = tracks.find((t) => t.sid === segments[6]);
      if (!track) throw new LocalTwilioError(404, 20404, `The requested resource ${resourcePath} was not found`);
      return { status: 200, body: subscribedTrackJson(room, participant, track) };
    }
    if (segments.length > 5) throw new LocalTwilioError(404, 20404, `The requested resource ${resourcePath} was not found`);
    if (method === "GET") return { status: 200, body: participantJson(participant) };
    if (method !== "POST") throw notAllowed();
    if (form.get("Status") !== "disconnected") throw new LocalTwilioError(400, 53112, "Status is invalid");
    // Disconnecting twice is a no-op that reports the participant as it is.
    disconnect(room, participant);
    return { status: 202, body: participantJson(participant) };
  }

  /**
   * Twilio's spec: "For in-progress Rooms the default Status is `connected`, for completed Rooms only `disconnected`
   * Participants are returned."
   */
  function listParticipants(room: LocalRoom, query: URLSearchParams) {
    const asked = query.get("Status");
    if (asked && asked !== "connected" && asked !== "disconnected" && asked !== "reconnecting") {
      throw new LocalTwilioError(400, 53112, "Status is invalid");
    }
    const status = room.status !== "in-progress" ? "disconnected" : asked || "connected";
    if (asked && asked !== status) return [];
    const identity = query.get("Identity");
    return [...room.participants.values()].filter((p) => p.status === status && (!identity || p.identity === identity)).map(participantJson);
  }

  /** GET: the subscriber's rules (Twilio's default, include all, until set). POST: replace them all with `Rules`. */
  function subscribeRulesRoute(method: string, room: LocalRoom, participant: LocalParticipant | undefined, form: URLSearchParams, resourcePath: string): Reply {
    const entry: SubscribeRulesLogEntry = {
      method: method === "POST" ? "POST" : "GET",
      roomSid: room.sid,
      roomName: room.uniqueName,
      participantSid: participant?.sid ?? null,
      identity: participant?.identity ?? null,
      rawRules: method === "POST" ? form.get("Rules") : null,
      rules: null,
      status: 0,
      code: null,
    };
    try {
      if (method !== "GET" && method !== "POST") throw new LocalTwilioError(405, 20004, "Method not allowed");
      if (!participant) throw new LocalTwilioError(404, 20404, `The requested resource ${resourcePath} was not found`);
      if (method === "POST") {
        const rules = parseSubscribeRules(form.get("Rules"));
        const at = now();
        room.subscribeRules.set(participant.sid, { rules, createdAt: room.subscribeRules.get(participant.sid)?.createdAt ?? at, updatedAt: at });
        entry.rules = rules;
      }
      entry.status = 200;
      return { status: 200, body: subscribeRulesJson(room, participant) };
    } catch (error) {
      if (error instanceof LocalTwilioError) {
        entry.status = error.status;
        entry.code = error.code;
      }
      throw error;
    } finally {
      if (method === "GET" || method === "POST") subscribeRulesLog.push(entry);
    }
  }

  // ----- control endpoints (/__local/...) for tests that can only speak HTTP -----

  /**
   * GET  state | callbacks | subscribe-rules-log | rooms/<room>/subscriptions
   * POST reset | fail-next {FaultRule, pathPattern?} | rooms/<room>/end
   * POST rooms/<room>/participants {identity, tracks?: ["audio", {kind, name?, priority?}, ...]}
   * POST rooms/<room>/participants/<sid|identity>/disconnect | .../reconnecting {reconnecting?: boolean}
   * POST rooms/<room>/participants/<sid|identity>/tracks {kind, name?, priority?} | .../tracks/<sid|name>/unpublish
   */
  function handleControl(method: string, path: string, body: string): Reply {
    let parts: string[];
    try {
      parts = path
        .split("/")
        .filter(Boolean)
        .slice(1)
        .map((s) => decodeURIComponent(s));
    } catch {
      throw new LocalTwilioError(400, 20001, `malformed path ${path}`);
    }
    const json = (): Record<string, unknown> => {
      if (!body) return {};
      try {
        return JSON.parse(body) as Record<string, unknown>;
      } catch {
        throw new LocalTwilioError(400, 20001, "control body must be JSON");
      }
    };
    if (method === "GET" && parts[0] === "state") {
      return {
        status: 200,
        body: {
          rooms: [...rooms.values()].map((r) => ({
            ...roomJson(r),
            end_reason: r.endReason,
            participants: [...r.participants.values()].map(participantJson),
          })),
        },
      };
    }
    if (method === "GET" && parts[0] === "callbacks") return { status: 200, body: { callbacks: drain() } };
    if (method === "POST" && parts[0] === "reset") {
      reset();
      return { status: 200, body: { ok: true } };
    }
    if (method === "POST" && parts[0] === "fail-next") {
      const rule = json() as unknown as FaultRule & { pathPattern?: string };
      const path = rule.pathPattern ? new RegExp(rule.pathPattern) : rule.path;
      failNext({ ...rule, path });
      return { status: 200, body: { ok: true } };
    }
    if (method === "GET" && parts[0] === "subscribe-rules-log" && parts.length === 1) return { status: 200, body: { entries: subscribeRulesLog } };
    if (method === "GET" && parts[0] === "rooms" && parts[1] && parts[2] === "subscriptions" && parts.length === 3) {
      return { status: 200, body: { subscriptions: subscriptions(parts[1]) } };
    }
    if (method === "POST" && parts[0] === "rooms" && parts[1]) {
      if (parts[2] === "end" && parts.length === 3) return { status: 200, body: roomJson(endRoom(parts[1])) };
      if (parts[2] === "participants" && parts.length === 3) {
        const { identity, tracks } = json();
        if (typeof identity !== "string") throw new LocalTwilioError(400, 20001, "identity is required");
        if (tracks !== undefined && !Array.isArray(tracks)) throw new LocalTwilioError(400, 20001, "tracks must be an array");
        return { status: 201, body: participantJson(connectParticipant(parts[1], identity, { tracks: tracks as PublishTrackOptions[] | undefined })) };
      }
      if (parts[2] === "participants" && parts[4] === "disconnect" && parts.length === 5) {
        return { status: 200, body: participantJson(disconnectParticipant(parts[1], parts[3])) };
      }
      if (parts[2] === "participants" && parts[4] === "reconnecting" && parts.length === 5) {
        return { status: 200, body: participantJson(setReconnecting(parts[1], parts[3], json().reconnecting !== false)) };
      }
      if (parts[2] === "participants" && parts[4] === "tracks" && parts.length === 5) {
        return { status: 201, body: publishTrack(parts[1], parts[3], json() as unknown as PublishTrackOptions) };
      }
      if (parts[2] === "participants" && parts[4] === "tracks" && parts[6] === "unpublish" && parts.length === 7) {
        return { status: 200, body: unpublishTrack(parts[1], parts[3], parts[5]) };
      }
    }
    throw new LocalTwilioError(404, 20404, `No control endpoint ${method} ${path}`);
  }

  // ----- faults -----

  function failNext(rule: FaultRule): void {
    faults.push({ ...rule, remaining: rule.times ?? 1 });
  }

  function takeFault(method: string, path: string): FaultRule | undefined {
    const index = faults.findIndex(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method.toUpperCase() === method) &&
        (f.path === undefined || (typeof f.path === "string" ? path.startsWith(f.path) : f.path.test(path))),
    );
    if (index === -1) return undefined;
    const fault = faults[index];
    if (--fault.remaining === 0) faults.splice(index, 1);
    return fault;
  }

  // ----- HTTP plumbing -----

  function send(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": Buffer.byteLength(text),
      "Twilio-Request-Id": sid("RQ"),
      ...extraHeaders,
    });
    res.end(text);
  }

  function errorReply(error: LocalTwilioError): Reply {
    return {
      status: error.status,
      body: { code: error.code, message: error.message, more_info: moreInfo(error.code), status: error.status },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const parsed = new URL(req.url ?? "/", "http://local");
    const path = parsed.pathname;
    const log: RequestLogEntry = { method, path, outcome: 0 };
    requests.push(log);
    let body: string;
    try {
      body = await readBody(req);
    } catch (error) {
      log.outcome = 413;
      if (!res.headersSent && !res.destroyed) send(res, errorReply(error as LocalTwilioError));
      return;
    }

    if (path.startsWith("/__local/")) {
      try {
        const reply = handleControl(method, path, body);
        log.outcome = reply.status;
        send(res, reply);
      } catch (error) {
        const e = error instanceof LocalTwilioError ? error : new LocalTwilioError(500, 20500, String(error));
        log.outcome = e.status;
        send(res, errorReply(e));
      }
      return;
    }

    const fault = takeFault(method, path);
    if (fault?.kind === "reset") {
      log.outcome = "reset";
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "hang") {
      log.outcome = "hang";
      if (fault.ms !== undefined) {
        const timer = setTimeout(() => {
          hangTimers.delete(timer);
          req.socket.destroy();
        }, fault.ms);
        hangTimers.add(timer);
        res.on("close", () => {
          clearTimeout(timer);
          hangTimers.delete(timer);
        });
      }
      return;
    }
    if (fault?.kind === "status") {
      const code = fault.code ?? (fault.status === 429 ? 20429 : fault.status >= 500 ? 20500 : 20001);
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers["Retry-After"] = String(fault.retryAfter);
      const message = fault.message ?? (fault.status === 429 ? "Too Many Requests" : "Internal Server Error");
      log.outcome = fault.status;
      send(res, errorReply(new LocalTwilioError(fault.status, code, message)), headers);
      return;
    }

    let reply: Reply;
    const wwwAuth: Record<string, string> = {};
    if (!acceptedAuth.has(req.headers.authorization ?? "")) {
      reply = errorReply(new LocalTwilioError(401, 20003, "Authenticate"));
      wwwAuth["WWW-Authenticate"] = 'Basic realm="Twilio API"';
    } else {
      try {
        sweepTimeouts();
        const contentType = req.headers["content-type"] ?? "";
        const form = new URLSearchParams(method === "POST" && contentType.includes("urlencoded") ? body : "");
        reply = route(method, path, parsed.searchParams, form);
      } catch (error) {
        if (!(error instanceof LocalTwilioError)) throw error;
        reply = errorReply(error);
      }
    }
    if (fault?.kind === "lose-response") {
      // The work is done; the client never hears about it.
      log.outcome = "lost";
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "rewrite") reply = { status: reply.status, body: fault.rewrite(reply.body) };
    log.outcome = reply.status;
    send(res, reply, wwwAuth);
  }

  function drain(): PendingCallback[] {
    const out = pending;
    pending = [];
    return out;
  }

  function reset(): void {
    rooms.clear();
    requests.length = 0;
    subscribeRulesLog.length = 0;
    deliveries.length = 0;
    faults = [];
    pending = [];
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        send(res, errorReply(new LocalTwilioError(500, 20500, error instanceof Error ? error.message : String(error))));
      }
    });
  });

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  return {
    port,
    url: baseUrl,
    credentials,
    rooms,
    requests,
    subscribeRulesLog,
    deliveries,
    async close() {
      for (const timer of hangTimers) clearTimeout(timer);
      hangTimers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await deliveryChain;
    },
    failNext,
    clearFaults() {
      faults = [];
    },
    findRoom,
    connectParticipant,
    disconnectParticipant,
    setReconnecting,
    publishTrack,
    unpublishTrack,
    subscriptions,
    endRoom,
    sweepTimeouts,
    pendingCallbacks: drain,
    flushDeliveries: () => deliveryChain,
    reset,
  };
}
