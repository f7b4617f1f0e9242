/**
 * Workers Analytics Engine data points for operators, and the worker-side events ("token issued", "callback rejected")
 * that happen outside the session engine.
 *
 * No personal data ever reaches Analytics Engine: no names, no identities, no raw session or member ids. Sessions are
 * hashed, members are hashed together with their session, rooms are reduced to a kind ("main" | "room"), and free
 * text (error messages) is reduced to a code. The layout is documented in docs/monitoring.md ("Data point layout");
 * keep the two in step: the SQL there is tested against what this module writes (test/workers/analytics-sql.test.ts).
 */
import type { Bindings } from "./env";
import { log } from "./log";

/**
 * Events that also go to session_analytics_events (and Workers Analytics Engine, docs/monitoring.md). `actor`/`target` are member ids, room ids or "system"; `data` never holds names or identities.
 */
export interface AnalyticsRecord {
  event: string;
  actor: string | null;
  target: string | null;
  data: Record<string, unknown> | null;
}

/** Analytics Engine dataset layout version, written to blob11 so queries can tell layouts apart. */
export const LAYOUT_VERSION = "v2";

/** Index for data points with no session (e.g. a callback refused before we know which session it names). */
export const NO_SESSION_INDEX = "none";

/**
 * Stable, non-reversible grouping key (two FNV-1a 32-bit passes over a salt + value → 16 hex chars). Used on random
 * ids only (session ids, member ids scoped by their session): it groups without identifying.
 */
export function anonymise(value: string | null): string {
  if (value === null) return "";
  const pass = (seed: number, salt: string) => {
    let h = seed;
    const s = `${salt}:${value}`;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return (h >>> 0).toString(16).padStart(8, "0");
  };
  return pass(0x811c9dc5, "mb") + pass(0x050c5d1f, "mb2");
}

/** A member (or "system") as a grouping key: members are hashed with their session so equal ids in two sessions differ. */
export function anonymiseActor(sessionId: string | null, actor: string | null): string {
  if (actor === null || actor === "") return "";
  if (actor === "system") return "system";
  return anonymise(`${sessionId ?? ""}:${actor}`);
}

/** "main" | "room" | "member" | "other" | "" — never the id itself. */
export function placeKind(target: string | null | undefined): string {
  if (target === null || target === undefined || target === "") return "";
  if (target === "main") return "main";
  if (/^r\d+$/.test(target)) return "room";
  if (/^m\d+$/.test(target)) return "member";
  return "other";
}

/** Error text → a short code without personal data: a Twilio error code (5 digits), an UPPER_CASE code, or "error". */
export function errorCode(text: unknown): string {
  if (typeof text !== "string" || !text) return "";
  const twilio = /\b(\d{5})\b/.exec(text);
  if (twilio) return twilio[1];
  const upper = /\b([A-Z][A-Z0-9_]{2,40})\b/.exec(text);
  if (upper) return upper[1];
  return "error";
}

/** Short, fixed vocabulary for why a session ended (the engine's reasons are fixed sentences). */
function endReasonCode(reason: unknown): string {
  if (typeof reason !== "string") return "";
  if (/facilitator/i.test(reason)) return "facilitator";
  if (/maximum session duration/i.test(reason)) return "max_duration";
  return "other";
}

const num = (v: unknown, fallback = 0) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
const str = (v: unknown) => (typeof v === "string" ? v : "");
const ms2s = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v / 1000 : 0);

/**
 * The fixed positions (documented in docs/monitoring.md). Unused positions are "" (blobs) or 0 (doubles); double3
 * (quality level) is -1 when the data point is not a quality sample, since 0 is a real level.
 */
export interface DataPointFields {
  event: string;
  /** blob2: hashed actor ("system" for the engine). */
  actor?: string;
  /** blob3: hashed member the event is about. */
  subject?: string;
  /** blob4: the subject's role (facilitator | cofacilitator | participant | system). */
  role?: string;
  /** blob5: kind of place or target. */
  place?: string;
  /** blob6/blob7: kind of place moved from/to. */
  from?: string;
  to?: string;
  /** blob8: reason or code (move reason, end reason, error code, rejection reason, join status). */
  detail?: string;
  /** blob9: media provider. */
  provider?: string;
  /** blob10: APP_ENV. */
  appEnv?: string;
  /** double2 round number; double3 quality level; double4 rooms; double5 duration seconds; double6 participants;
   * double7 token ttl seconds; double8 HTTP status. */
  round?: number;
  level?: number;
  rooms?: number;
  durationSeconds?: number;
  participants?: number;
  ttlSeconds?: number;
  httpStatus?: number;
}

export function buildDataPoint(index: string, f: DataPointFields): AnalyticsEngineDataPoint {
  return {
    indexes: [index],
    blobs: [
      f.event,
      f.actor ?? "",
      f.subject ?? "",
      f.role ?? "",
      f.place ?? "",
      f.from ?? "",
      f.to ?? "",
      f.detail ?? "",
      f.provider ?? "",
      f.appEnv ?? "",
      LAYOUT_VERSION,
    ],
    doubles: [1, f.round ?? 0, f.level ?? -1, f.rooms ?? 0, f.durationSeconds ?? 0, f.participants ?? 0, f.ttlSeconds ?? 0, f.httpStatus ?? 0],
  };
}

/** One engine analytics record (the same one that goes to D1 session_analytics_events) as a data point. */
export function dataPointFor(sessionId: string, rec: AnalyticsRecord, appEnv = ""): AnalyticsEngineDataPoint {
  const d = (rec.data ?? {}) as Record<string, unknown>;
  const base: DataPointFields = {
    event: rec.event,
    actor: anonymiseActor(sessionId, rec.actor),
    provider: str(d.provider),
    appEnv,
    round: num(d.round),
    role: str(d.role),
  };
  switch (rec.event) {
    case "session_created":
      // double5: the session's duration limit (cost control), 0 when unlimited.
      return buildDataPoint(anonymise(sessionId), { ...base, durationSeconds: num(d.maxSessionSeconds) });
    case "session_ended":
      return buildDataPoint(anonymise(sessionId), {
        ...base,
        detail: endReasonCode(d.reason),
        durationSeconds: ms2s(d.durationMs),
        participants: num(d.participants),
        rooms: num(d.rooms),
        round: num(d.rounds),
      });
    case "participant_joined":
      return buildDataPoint(anonymise(sessionId), { ...base, subject: anonymiseActor(sessionId, rec.actor), detail: str(d.status) });
    case "participant_moved":
      return buildDataPoint(anonymise(sessionId), {
        ...base,
        subject: anonymiseActor(sessionId, rec.target),
        place: placeKind(str(d.to)),
        from: placeKind(str(d.from)),
        to: placeKind(str(d.to)),
        detail: str(d.reason),
      });
    case "breakout_round_opened":
      return buildDataPoint(anonymise(sessionId), {
        ...base,
        detail: str(d.mode),
        rooms: num(d.rooms),
        participants: num(d.placed),
        durationSeconds: num(d.durationSeconds),
      });
    case "breakout_round_closed":
      return buildDataPoint(anonymise(sessionId), { ...base, rooms: num(d.rooms), durationSeconds: ms2s(d.durationMs) });
    case "connection_quality":
      return buildDataPoint(anonymise(sessionId), { ...base, subject: anonymiseActor(sessionId, rec.actor), level: num(d.level, -1) });
    case "twilio_call_failed":
      return buildDataPoint(anonymise(sessionId), { ...base, place: placeKind(rec.target), detail: errorCode(d.error) });
    case "participant_arrived":
      return buildDataPoint(anonymise(sessionId), { ...base, subject: anonymiseActor(sessionId, rec.actor), place: rec.target ? "media" : "" });
    case "participant_connected":
    case "participant_disconnected":
      return buildDataPoint(anonymise(sessionId), { ...base, subject: anonymiseActor(sessionId, rec.actor) });
    default: {
      // participant_admitted/left/denied/waiting, broadcast, help_requested, …: who did it, to whom, where.
      const targetIsMember = /^m\d+$/.test(rec.target ?? "");
      return buildDataPoint(anonymise(sessionId), {
        ...base,
        subject: targetIsMember ? anonymiseActor(sessionId, rec.target) : "",
        place: placeKind(rec.target),
        detail: typeof d.reason === "string" ? d.reason : "",
        durationSeconds: ms2s(d.durationMs),
      });
    }
  }
}

export function writeAnalytics(env: Bindings, sessionId: string, records: readonly AnalyticsRecord[]) {
  if (!env.ANALYTICS || !records.length) return;
  for (const r of records) {
    try {
      env.ANALYTICS.writeDataPoint(dataPointFor(sessionId, r, env.APP_ENV ?? "production"));
    } catch {
      // Analytics must never break a session.
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Worker-side events (outside the engine)
// ---------------------------------------------------------------------------------------------------------------

export type WorkerEvent = "token_issued" | "callback_rejected";

export interface WorkerEventFields {
  /** The session, when known and trusted (a verified ticket or a verified callback). */
  sessionId?: string | null;
  memberId?: string | null;
  role?: string | null;
  provider?: string | null;
  /** Media place the token is for ("main" or a room id); reduced to a kind in Analytics Engine. */
  location?: string | null;
  /** token_issued: token lifetime, seconds. */
  ttlSeconds?: number | null;
  /** callback_rejected: why ("signature", "parse", "stale", "unknown-room", …) — a short code, never the payload. */
  reason?: string | null;
  /** callback_rejected: the HTTP status answered. */
  httpStatus?: number | null;
  /**
   * Also write the D1 row (default true). The session Durable Object passes false when it records the event through
   * its own outbox instead (`workerEventStatement`), so the row is written with the state, exactly once.
   */
  persist?: boolean;
}

/** The D1 row for a worker event, as an outbox statement (for callers that batch their D1 writes). */
export function workerEventStatement(event: WorkerEvent, fields: WorkerEventFields & { sessionId: string }, id: string, now: number) {
  const data: Record<string, unknown> = {};
  if (fields.role) data.role = fields.role;
  if (fields.provider) data.provider = fields.provider;
  if (fields.location) data.location = fields.location;
  if (fields.ttlSeconds != null) data.ttlSeconds = fields.ttlSeconds;
  if (fields.reason) data.reason = fields.reason;
  if (fields.httpStatus != null) data.httpStatus = fields.httpStatus;
  return {
    sql: `INSERT OR IGNORE INTO session_analytics_events (id, session_id, seq, event, actor, target, data, at) VALUES (?, ?, 0, ?, ?, ?, ?, ?)`,
    params: [id, fields.sessionId, event, fields.memberId ?? null, fields.location ?? null, JSON.stringify(data), now] as (string | number | null)[],
  };
}

/**
 * Record an event that happens in the Worker rather than in the engine: one Analytics Engine data point (synchronous,
 * never throws), and, when the session is known, the same event in D1 `session_analytics_events` (seq 0, id
 * `<session>:w:<uuid>`). The D1 write is returned as a promise: pass it to `c.executionCtx.waitUntil(...)` so the
 * response is not delayed. Sessionless events (e.g. a callback refused before it could be attributed) go to Analytics
 * Engine only, so an unauthenticated caller cannot make us write D1 rows.
 *
 * Example (media token route): `c.executionCtx.waitUntil(recordWorkerEvent(c.env, "token_issued", { sessionId, memberId,
 * role, provider: grant.provider, location, ttlSeconds }))`.
 */
export function recordWorkerEvent(env: Bindings, event: WorkerEvent, fields: WorkerEventFields = {}, now = Date.now()): Promise<void> {
  const sessionId = fields.sessionId ?? null;
  const appEnv = env.APP_ENV ?? "production";
  try {
    env.ANALYTICS?.writeDataPoint(
      buildDataPoint(sessionId ? anonymise(sessionId) : NO_SESSION_INDEX, {
        event,
        actor: anonymiseActor(sessionId, fields.memberId ?? null),
        subject: anonymiseActor(sessionId, fields.memberId ?? null),
        role: fields.role ?? "",
        place: placeKind(fields.location ?? null),
        detail: event === "callback_rejected" ? (fields.reason ?? "").slice(0, 40) : "",
        provider: fields.provider ?? "",
        appEnv,
        ttlSeconds: fields.ttlSeconds ?? 0,
        httpStatus: fields.httpStatus ?? 0,
      }),
    );
  } catch {
    // Analytics must never break a request.
  }
  if (!sessionId || !env.DB || fields.persist === false) return Promise.resolve();
  const stmt = workerEventStatement(event, { ...fields, sessionId }, `${sessionId}:w:${crypto.randomUUID()}`, now);
  return env.DB.prepare(stmt.sql)
    .bind(...stmt.params)
    .run()
    .then(
      () => undefined,
      (err) => log("warn", "analytics d1 write failed", { event, error: err }),
    );
}
