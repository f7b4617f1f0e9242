/**
 * Operator monitoring, mounted under /api/monitoring (user token with appRole "operator"):
 * - GET /overview                  what is live now: sessions, participants, rooms (from D1)
 * - GET /timeseries?minutes=60     per-minute buckets over the last N minutes (1..1440) from D1 rows,
 *                                  session_analytics_events and audit_log
 * - GET /alerts                    open alert incidents, the last day's resolved ones, the rules (worker/alerts)
 * and `requestLogger()`, the middleware that writes one structured JSON log line per request with its request id.
 *
 * D1 is the operational view (exact, current); Workers Analytics Engine is the long-term one (docs/monitoring.md).
 * Times in D1 are epoch ms; buckets are whole UTC minutes, the last one being the current, partial minute.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { costMicros, formatUsd, priceNanosFrom } from "../../lib/cost";
import type { MonitoringTimeseries } from "../../lib/protocol";
import { createLogger } from "../../lib/runtime/log";
import { apiError } from "../middleware/security";
import { requireUser, type AppEnv } from "../http";
import { openIncidents, recentIncidents, type Incident } from "../alerts/incidents";
import { RULE_IDS, RULES, thresholdsFrom } from "../alerts/rules";

const MINUTE = 60_000;
export const MAX_TIMESERIES_MINUTES = 24 * 60;
/** Sessions listed individually in the overview (most recent first). */
const OVERVIEW_SESSIONS = 100;

// ---------------------------------------------------------------------------------------------------------------
// Request logging
// ---------------------------------------------------------------------------------------------------------------

/** Requests slower than this are always logged, whatever the sample rate. */
const SLOW_REQUEST_MS = 1000;

/**
 * The share of successful, fast requests that get a log line: REQUEST_LOG_SAMPLE_RATE (0–1, default 0.05). Errors,
 * refusals and slow requests are always logged; Workers observability records every invocation anyway. A line costs
 * about as much CPU as the rest of a media-token request, so a busy deployment samples the routine ones.
 */
export function requestLogSampleRate(env: { REQUEST_LOG_SAMPLE_RATE?: string } | undefined): number {
  const v = Number(env?.REQUEST_LOG_SAMPLE_RATE ?? "0.05");
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0.05;
}

/**
 * One JSON line per request (after it is answered) through lib/runtime/log.ts: requestId, method, path (never the query
 * string, which may carry a ticket), matched route, status, durationMs, and the session/member when known. 5xx are
 * "error", 4xx "warn", the rest "info" (sampled: requestLogSampleRate); with DEBUG_LOGS a "request start" debug line
 * too. Register it right after the request-id middleware so every line carries the id.
 */
export function requestLogger(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = Date.now();
    const log = createLogger(c.env, { requestId: c.get("requestId") });
    const path = new URL(c.req.url).pathname;
    log.debug("request start", { method: c.req.method, path });
    try {
      await next();
    } finally {
      const status = c.res?.status ?? 500;
      const durationMs = Date.now() - started;
      const routine = status < 400 && durationMs < SLOW_REQUEST_MS;
      if (!routine || Math.random() < requestLogSampleRate(c.env)) logRequest(c, log, path, status, durationMs);
    }
  };
}

function logRequest(c: Context<AppEnv>, log: ReturnType<typeof createLogger>, path: string, status: number, durationMs: number) {
  let route: string | undefined;
  try {
    route = routePath(c, -1);
  } catch {
    route = undefined;
  }
  const fields: Record<string, unknown> = { method: c.req.method, path, route, status, durationMs };
  const sessionId = /^\/api\/sessions\/([^/]+)/.exec(path)?.[1];
  if (sessionId) fields.sessionId = sessionId;
  const memberId = c.get("memberId");
  if (memberId) fields.memberId = memberId;
  if (c.req.header("Upgrade") === "websocket") fields.websocket = true;
  const level = status >= 500 ? "error" : status >= 400 ? "warn" : "info";
  log[level]("request", fields);
}

// ---------------------------------------------------------------------------------------------------------------
// Operator access
// ---------------------------------------------------------------------------------------------------------------

const requireOperator: MiddlewareHandler<AppEnv> = async (c, next) => {
  const principal = c.get("principal");
  if (principal?.appRole !== "operator") return apiError(c, 403, "FORBIDDEN", "monitoring is for operators");
  await next();
};

export const monitoring = new Hono<AppEnv>();
monitoring.use("*", requireUser, requireOperator);

// ---------------------------------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------------------------------

type Row = Record<string, unknown>;
const n = (v: unknown) => (typeof v === "number" ? v : Number(v ?? 0) || 0);

/** Members whose latest connection event says "connected", per live session. */
const CONNECTED_SQL = `SELECT e.session_id AS session_id, COUNT(*) AS n
FROM session_analytics_events e JOIN sessions s ON s.id = e.session_id AND s.phase != 'ended'
WHERE e.event = 'participant_connected'
  AND e.seq = (SELECT MAX(x.seq) FROM session_analytics_events x
               WHERE x.session_id = e.session_id AND x.actor = e.actor AND x.event IN ('participant_connected', 'participant_disconnected'))
GROUP BY e.session_id`;

monitoring.get("/overview", async (c) => {
  const now = Date.now();
  const db = c.env.DB;
  const dayAgo = now - 24 * 3600_000;
  const [phases, members, connected, rooms, media, placed, listed, day, stays] = await db.batch([
    db.prepare(`SELECT phase, COUNT(*) AS n FROM sessions WHERE phase != 'ended' GROUP BY phase`),
    db.prepare(`SELECT p.session_id AS session_id, p.status AS status, COUNT(*) AS n FROM session_participants p
      JOIN sessions s ON s.id = p.session_id AND s.phase != 'ended' GROUP BY p.session_id, p.status`),
    db.prepare(CONNECTED_SQL),
    db.prepare(`SELECT r.session_id AS session_id, COUNT(*) AS n FROM breakout_rooms r JOIN sessions s ON s.id = r.session_id AND s.phase != 'ended'
      WHERE r.status = 'open' GROUP BY r.session_id`),
    db.prepare(`SELECT m.session_id AS session_id, COUNT(*) AS n FROM media_rooms m JOIN sessions s ON s.id = m.session_id AND s.phase != 'ended'
      WHERE m.status IN ('pending', 'ready') GROUP BY m.session_id`),
    db.prepare(`SELECT b.session_id AS session_id, COUNT(DISTINCT b.member_id) AS n FROM breakout_room_participants b
      JOIN sessions s ON s.id = b.session_id AND s.phase != 'ended' WHERE b.left_at IS NULL GROUP BY b.session_id`),
    db.prepare(`SELECT id, phase, media_provider, created_at, rounds_completed, settings FROM sessions WHERE phase != 'ended'
      ORDER BY created_at DESC LIMIT ${OVERVIEW_SESSIONS}`),
    db.prepare(`SELECT COUNT(*) AS created, SUM(CASE WHEN ended_at IS NOT NULL THEN 1 ELSE 0 END) AS ended FROM sessions WHERE created_at >= ?`).bind(dayAgo),
    // Participant-ms over the last 24 h (stays clipped to the window): the day's media use.
    db
      .prepare(`SELECT COALESCE(SUM(MAX(0, MIN(COALESCE(left_at, ?1), ?1) - MAX(joined_at, ?2))), 0) AS ms
      FROM breakout_room_participants WHERE joined_at < ?1 AND (left_at IS NULL OR left_at > ?2)`)
      .bind(now, dayAgo),
  ]);

  const bySession = new Map<string, { admitted: number; waiting: number; connected: number; openRooms: number; mediaRooms: number; placed: number }>();
  const slot = (id: string) => {
    let s = bySession.get(id);
    if (!s) bySession.set(id, (s = { admitted: 0, waiting: 0, connected: 0, openRooms: 0, mediaRooms: 0, placed: 0 }));
    return s;
  };
  for (const r of members.results as Row[]) {
    const s = slot(String(r.session_id));
    if (r.status === "admitted") s.admitted += n(r.n);
    if (r.status === "waiting") s.waiting += n(r.n);
  }
  for (const r of connected.results as Row[]) slot(String(r.session_id)).connected = n(r.n);
  for (const r of rooms.results as Row[]) slot(String(r.session_id)).openRooms = n(r.n);
  for (const r of media.results as Row[]) slot(String(r.session_id)).mediaRooms = n(r.n);
  for (const r of placed.results as Row[]) slot(String(r.session_id)).placed = n(r.n);
  const sum = (k: "admitted" | "waiting" | "connected" | "openRooms" | "mediaRooms" | "placed") => [...bySession.values()].reduce((a, s) => a + s[k], 0);

  const byPhase: Record<string, number> = {};
  for (const r of phases.results as Row[]) byPhase[String(r.phase)] = n(r.n);
  const active = Object.values(byPhase).reduce((a, b) => a + b, 0);
  const dayRow = (day.results as Row[])[0] ?? {};
  const dayMs = n((stays.results as Row[])[0]?.ms);
  const dayMicros = costMicros(dayMs, priceNanosFrom(c.env.PRICE_PER_PARTICIPANT_MINUTE));

  return c.json(
    {
      asOf: now,
      sessions: { active, byPhase },
      participants: { admitted: sum("admitted"), waiting: sum("waiting"), connected: sum("connected"), inMediaRooms: sum("placed") },
      rooms: { main: active, breakoutOpen: sum("openRooms"), open: active + sum("openRooms"), providerRoomsLive: sum("mediaRooms") },
      last24h: {
        sessionsCreated: n(dayRow.created),
        sessionsEnded: n(dayRow.ended),
        participantMinutes: Math.round((dayMs / MINUTE) * 10) / 10,
        estimatedCostMicros: dayMicros,
        estimatedCostUsd: formatUsd(dayMicros),
      },
      // Ids only: no titles, names or identities on the operator screen.
      liveSessions: (listed.results as Row[]).map((r) => {
        const s = bySession.get(String(r.id)) ?? { admitted: 0, waiting: 0, connected: 0, openRooms: 0, mediaRooms: 0, placed: 0 };
        return {
          id: String(r.id),
          phase: String(r.phase),
          mediaProvider: String(r.media_provider),
          createdAt: n(r.created_at),
          roundsCompleted: n(r.rounds_completed),
          ...s,
        };
      }),
    },
    200,
    { "Cache-Control": "no-store" },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// Time series
// ---------------------------------------------------------------------------------------------------------------

export type Timeseries = MonitoringTimeseries;

/**
 * How many intervals overlap each bucket [start + i·w, start + (i+1)·w): a difference array, O(intervals + buckets).
 * An interval [a, b) with b null is open (runs past the window).
 */
export function overlapCounts(intervals: readonly [number, number | null][], start: number, buckets: number, width = MINUTE): number[] {
  const diff = new Array<number>(buckets + 1).fill(0);
  const end = start + buckets * width;
  for (const [a, bRaw] of intervals) {
    const b = bRaw ?? Number.POSITIVE_INFINITY;
    if (!(b > a) && bRaw !== null) {
      // A zero-length interval still marks the bucket it happened in.
      if (a < start || a >= end) continue;
      const i = Math.floor((a - start) / width);
      diff[i]++;
      diff[i + 1]--;
      continue;
    }
    if (a >= end || b <= start) continue;
    const first = Math.max(0, Math.floor((a - start) / width));
    const last = Math.min(buckets - 1, Math.floor((Math.min(b, end) - 1 - start) / width));
    if (last < first) continue;
    diff[first]++;
    diff[last + 1]--;
  }
  const out: number[] = [];
  let run = 0;
  for (let i = 0; i < buckets; i++) out.push((run += diff[i]));
  return out;
}

/** Per member, merge overlapping/adjacent stays so a move within a minute does not count the person twice. */
export function mergeByKey(rows: readonly { key: string; a: number; b: number | null }[]): [number, number | null][] {
  const groups = new Map<string, { a: number; b: number | null }[]>();
  for (const r of rows) (groups.get(r.key) ?? groups.set(r.key, []).get(r.key)!).push({ a: r.a, b: r.b });
  const out: [number, number | null][] = [];
  for (const list of groups.values()) {
    list.sort((x, y) => x.a - y.a);
    let cur: { a: number; b: number | null } | null = null;
    for (const s of list) {
      if (cur && (cur.b === null || s.a <= cur.b)) {
        if (cur.b !== null && (s.b === null || s.b > cur.b)) cur.b = s.b;
      } else {
        if (cur) out.push([cur.a, cur.b]);
        cur = { ...s };
      }
    }
    if (cur) out.push([cur.a, cur.b]);
  }
  return out;
}

const ROW_LIMIT = 50_000;

monitoring.get("/timeseries", async (c) => {
  const raw = c.req.query("minutes") ?? "60";
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_TIMESERIES_MINUTES)
    return apiError(c, 400, "INVALID_MESSAGE", `minutes: a whole number from 1 to ${MAX_TIMESERIES_MINUTES}`);
  const buckets = Number(raw);
  const now = Date.now();
  const to = Math.floor(now / MINUTE) * MINUTE + MINUTE;
  const from = to - buckets * MINUTE;
  const db = c.env.DB;
  const [sessions, stays, rooms, audit, events] = await db.batch([
    db
      .prepare(`SELECT created_at AS a, ended_at AS b FROM sessions WHERE created_at < ?1 AND (ended_at IS NULL OR ended_at >= ?2) LIMIT ${ROW_LIMIT}`)
      .bind(to, from),
    db
      .prepare(`SELECT session_id || ':' || member_id AS k, joined_at AS a, left_at AS b FROM breakout_room_participants
      WHERE joined_at < ?1 AND (left_at IS NULL OR left_at >= ?2) LIMIT ${ROW_LIMIT}`)
      .bind(to, from),
    db
      .prepare(`SELECT opened_at AS a, closed_at AS b FROM breakout_rooms
      WHERE opened_at IS NOT NULL AND opened_at < ?1 AND (closed_at IS NULL OR closed_at >= ?2) LIMIT ${ROW_LIMIT}`)
      .bind(to, from),
    db
      .prepare(`SELECT CAST((at - ?2) / ${MINUTE} AS INTEGER) AS i, COUNT(*) AS commands, SUM(CASE WHEN result LIKE 'refused:%' THEN 1 ELSE 0 END) AS refused
      FROM audit_log WHERE at >= ?2 AND at < ?1 GROUP BY i`)
      .bind(to, from),
    db
      .prepare(`SELECT CAST((at - ?2) / ${MINUTE} AS INTEGER) AS i, event, CASE WHEN event = 'connection_quality' THEN json_extract(data, '$.level') END AS level, COUNT(*) AS n
      FROM session_analytics_events
      WHERE event IN ('connection_quality', 'twilio_call_failed', 'callback_rejected', 'session_created', 'participant_joined') AND at >= ?2 AND at < ?1
      GROUP BY i, event, level`)
      .bind(to, from),
  ]);
  const zeros = () => new Array<number>(buckets).fill(0);
  const series: Timeseries["series"] = {
    sessions: overlapCounts(
      (sessions.results as Row[]).map((r) => [n(r.a), r.b === null ? null : n(r.b)]),
      from,
      buckets,
    ),
    participants: overlapCounts(
      mergeByKey((stays.results as Row[]).map((r) => ({ key: String(r.k), a: n(r.a), b: r.b === null ? null : n(r.b) }))),
      from,
      buckets,
    ),
    openRooms: overlapCounts(
      (rooms.results as Row[]).map((r) => [n(r.a), r.b === null ? null : n(r.b)]),
      from,
      buckets,
    ),
    commands: zeros(),
    refused: zeros(),
    twilioFailures: zeros(),
    callbacksRejected: zeros(),
    errors: zeros(),
    sessionsCreated: zeros(),
    joins: zeros(),
    quality: [0, 1, 2, 3, 4, 5].map(() => zeros()),
  };
  // (D1 may bind the window bounds as REAL: the SQL casts, and so does this.)
  for (const r of audit.results as Row[]) {
    const i = Math.floor(n(r.i));
    if (i < 0 || i >= buckets) continue;
    series.commands[i] += n(r.commands);
    series.refused[i] += n(r.refused);
  }
  for (const r of events.results as Row[]) {
    const i = Math.floor(n(r.i));
    if (i < 0 || i >= buckets) continue;
    const count = n(r.n);
    switch (r.event) {
      case "connection_quality": {
        const level = n(r.level);
        if (level >= 0 && level <= 5) series.quality[level][i] += count;
        break;
      }
      case "twilio_call_failed":
        series.twilioFailures[i] += count;
        break;
      case "callback_rejected":
        series.callbacksRejected[i] += count;
        break;
      case "session_created":
        series.sessionsCreated[i] += count;
        break;
      case "participant_joined":
        series.joins[i] += count;
        break;
    }
  }
  for (let i = 0; i < buckets; i++) series.errors[i] = series.refused[i] + series.twilioFailures[i] + series.callbacksRejected[i];
  const body: Timeseries = { from, to, bucketMs: MINUTE, t: Array.from({ length: buckets }, (_, i) => (from + i * MINUTE) / 1000), series };
  return c.json(body, 200, { "Cache-Control": "no-store" });
});

// ---------------------------------------------------------------------------------------------------------------
// Alerts (worker/alerts): open incidents, the last day's, the rules and when they last ran
// ---------------------------------------------------------------------------------------------------------------

monitoring.get("/alerts", async (c) => {
  const now = Date.now();
  const [active, recent, lastRun] = await Promise.all([
    openIncidents(c.env.DB),
    recentIncidents(c.env.DB, now - 24 * 3600_000),
    c.env.DB.prepare(`SELECT v FROM ops_state WHERE k = 'alerts_last_run'`).first<{ v: string }>(),
  ]);
  const { thresholds, problem } = thresholdsFrom(c.env.ALERT_THRESHOLDS);
  let last: { at: number; unknown: string[]; problems: string[] } | null = null;
  try {
    last = lastRun ? JSON.parse(lastRun.v) : null;
  } catch {
    last = null;
  }
  const view = (i: Incident) => ({ ...i, title: RULES[i.rule]?.title ?? i.rule, action: RULES[i.rule]?.action ?? "" });
  return c.json(
    {
      asOf: now,
      active: active.map(view),
      recent: recent.filter((i) => i.resolvedAt !== null).map(view),
      rules: RULE_IDS.map((id) => ({ id, ...RULES[id], threshold: thresholds[id] })),
      webhookConfigured: Boolean(c.env.ALERT_WEBHOOK_URL?.trim()),
      lastRun: last,
      problems: problem ? [problem] : [],
    },
    200,
    { "Cache-Control": "no-store" },
  );
});
