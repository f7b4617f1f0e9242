/**
 * Alert rules over data the product already keeps: D1 rows the session outbox writes (session_analytics_events,
 * breakout_room_participants, media_rooms, sessions), the Worker's 5xx counts (ops_error_counts), each live session's
 * outbox (its Durable Object, `opsHealth()`), and the Twilio account's in-progress rooms. Each rule answers firing or
 * clear with a value, a threshold and a one-line summary, or "unknown" when its data could not be read (an unknown rule
 * keeps its incident as it is: a failed read is neither an alarm nor a recovery).
 *
 * Summaries and details carry counts, codes and session ids only (random ids, no names, titles or identities).
 */
import { z } from "zod";
import { errorCode } from "../../lib/runtime/analytics";
import type { VideoRoom } from "../../lib/twilio/rest";

export const RULE_IDS = ["twilio_room_failures", "media_connect_stuck", "outbox_backlog", "outbox_dead_letters", "orphan_media_rooms", "error_rate"] as const;
export type RuleId = (typeof RULE_IDS)[number];
export type Severity = "warning" | "critical";

export interface RuleDefinition {
  title: string;
  severity: Severity;
  /** Fires when the value reaches this. */
  threshold: number;
  /** What the value counts, and what to do (shown on the monitoring page and in the webhook message). */
  explain: string;
  action: string;
}

/** Windows and grace periods (ms). */
export const TWILIO_FAILURE_WINDOW_MS = 10 * 60_000;
export const STUCK_AFTER_MS = 3 * 60_000;
export const ORPHAN_AFTER_MS = 10 * 60_000;
export const ERROR_RATE_WINDOW_MS = 5 * 60_000;
/** Sessions ended this recently are still scanned for outbox problems (the end itself may be what is stuck). */
export const RECENTLY_ENDED_MS = 60 * 60_000;
/** At most this many sessions' outboxes are read per run (newest first). */
export const MAX_SESSIONS_SCANNED = 200;

export const RULES: Record<RuleId, RuleDefinition> = {
  twilio_room_failures: {
    title: "Twilio room creation failing",
    severity: "critical",
    threshold: 3,
    explain: "Provider rooms that could not be created or failed in the last 10 minutes (twilio_call_failed)",
    action: "Check the Twilio status page and the error codes (TWILIO.md); 20003/20401 mean bad API keys, 53113 a name clash, 429s a rate limit",
  },
  media_connect_stuck: {
    title: "People stuck connecting to video",
    severity: "warning",
    threshold: 3,
    explain: "Members placed in a media room for 3+ minutes, with the app connected, whose media never arrived",
    action:
      "In Twilio mode check PUBLIC_BASE_URL (arrivals come from Twilio's status callbacks) and callback_rejected; otherwise look for a TURN/UDP problem (docs/operations.md, Troubleshooting)",
  },
  outbox_backlog: {
    title: "D1 outbox backlog",
    severity: "critical",
    threshold: 100,
    explain: "Rows a session has stored but not yet written to D1 (largest backlog of one session)",
    action: "D1 is failing or slow: check the D1 status and `wrangler tail` for 'd1 outbox flush failed'; sessions keep working and retry",
  },
  outbox_dead_letters: {
    title: "D1 rows set aside",
    severity: "warning",
    threshold: 1,
    explain: "Rows D1 refused permanently (a constraint), kept in the sessions' outbox_dead tables",
    action: "A schema/code mismatch: look for 'd1 row refused permanently' in the logs and in Sentry; reports of those sessions miss the rows",
  },
  orphan_media_rooms: {
    title: "Orphan media rooms",
    severity: "warning",
    threshold: 1,
    explain: "Provider rooms still open 10+ minutes after their session ended or their breakout room closed (D1, and the Twilio account)",
    action: "They bill: complete them (Twilio Console, or `curl -X POST …/v1/Rooms/<sid> -d Status=completed`); the session's sweep should have",
  },
  error_rate: {
    title: "Server errors",
    severity: "critical",
    threshold: 10,
    explain: "HTTP 5xx answered by the Worker in the last 5 minutes",
    action: "See Sentry and `wrangler tail --status error`; /api/health lists configuration problems",
  },
};

const ThresholdsSchema = z.object(Object.fromEntries(RULE_IDS.map((id) => [id, z.number().positive().optional()]))).strict();

/** Thresholds by rule: the defaults, overridden by ALERT_THRESHOLDS (JSON). A malformed value is reported, not used. */
export function thresholdsFrom(raw: string | undefined): { thresholds: Record<RuleId, number>; problem: string | null } {
  const thresholds = Object.fromEntries(RULE_IDS.map((id) => [id, RULES[id].threshold])) as Record<RuleId, number>;
  if (!raw?.trim()) return { thresholds, problem: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { thresholds, problem: "ALERT_THRESHOLDS is not JSON; the default thresholds apply" };
  }
  const r = ThresholdsSchema.safeParse(parsed);
  if (!r.success) return { thresholds, problem: `ALERT_THRESHOLDS: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"} ${i.message}`).join("; ")}` };
  for (const [k, v] of Object.entries(r.data)) if (typeof v === "number") thresholds[k as RuleId] = v;
  return { thresholds, problem: null };
}

export interface Finding {
  rule: RuleId;
  firing: boolean;
  value: number;
  threshold: number;
  summary: string;
  details: Record<string, unknown>;
}

export type Evaluation = Finding | { rule: RuleId; unknown: true; reason: string };

export const isUnknown = (e: Evaluation): e is Extract<Evaluation, { unknown: true }> => "unknown" in e;

function finding(rule: RuleId, value: number, threshold: number, summary: string, details: Record<string, unknown> = {}): Finding {
  return { rule, firing: value >= threshold, value, threshold, summary, details };
}

type Row = Record<string, unknown>;
const num = (v: unknown) => (typeof v === "number" ? v : Number(v ?? 0) || 0);
const few = <T>(xs: T[], n = 10) => xs.slice(0, n);

/** One live session's outbox, as its Durable Object reports it (`opsHealth`). */
export interface SessionHealth {
  outboxPending: number;
  outboxDead: number;
}

export interface RuleInputs {
  db: D1Database;
  now: number;
  thresholds: Record<RuleId, number>;
  /** Outbox state of each scanned session; a session that did not answer is listed in `unreachable`. */
  sessionHealth: (sessionIds: string[]) => Promise<{ health: Map<string, SessionHealth>; unreachable: string[] }>;
  /** The provider account's in-progress rooms, or null when Twilio is not configured. */
  twilioRooms: (() => Promise<VideoRoom[]>) | null;
}

export async function twilioRoomFailures(i: RuleInputs): Promise<Evaluation> {
  const rows = (
    await i.db
      .prepare(`SELECT session_id, data FROM session_analytics_events WHERE event = 'twilio_call_failed' AND at >= ? AND at <= ? ORDER BY at DESC LIMIT 1000`)
      .bind(i.now - TWILIO_FAILURE_WINDOW_MS, i.now)
      .all<Row>()
  ).results;
  const codes: Record<string, number> = {};
  const sessions = new Set<string>();
  for (const r of rows) {
    sessions.add(String(r.session_id));
    let code = "error";
    try {
      code = errorCode((JSON.parse(String(r.data ?? "{}")) as { error?: unknown }).error) || "error";
    } catch {
      /* keep "error" */
    }
    codes[code] = (codes[code] ?? 0) + 1;
  }
  const codeText = Object.entries(codes)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ×${n}`)
    .join(", ");
  return finding(
    "twilio_room_failures",
    rows.length,
    i.thresholds.twilio_room_failures,
    `${rows.length} provider room failure(s) in 10 min${codeText ? ` (codes ${codeText})` : ""} across ${sessions.size} session(s)`,
    { codes, sessions: few([...sessions]) },
  );
}

const STUCK_SQL = `SELECT p.session_id AS session_id, p.member_id AS member_id, p.joined_at AS placed_at
FROM breakout_room_participants p
JOIN sessions s ON s.id = p.session_id AND s.phase != 'ended'
JOIN session_participants sp ON sp.session_id = p.session_id AND sp.member_id = p.member_id AND sp.status = 'admitted'
WHERE p.left_at IS NULL AND p.joined_at <= ?1
  AND NOT EXISTS (SELECT 1 FROM session_analytics_events a
                  WHERE a.session_id = p.session_id AND a.actor = p.member_id AND a.event = 'participant_arrived' AND a.at >= p.joined_at)
  AND (SELECT e.event FROM session_analytics_events e
       WHERE e.session_id = p.session_id AND e.actor = p.member_id AND e.event IN ('participant_connected', 'participant_disconnected')
       ORDER BY e.seq DESC, e.at DESC LIMIT 1) = 'participant_connected'
LIMIT 500`;

export async function mediaConnectStuck(i: RuleInputs): Promise<Evaluation> {
  const rows = (
    await i.db
      .prepare(STUCK_SQL)
      .bind(i.now - STUCK_AFTER_MS)
      .all<Row>()
  ).results;
  const bySession: Record<string, number> = {};
  for (const r of rows) bySession[String(r.session_id)] = (bySession[String(r.session_id)] ?? 0) + 1;
  return finding(
    "media_connect_stuck",
    rows.length,
    i.thresholds.media_connect_stuck,
    `${rows.length} member(s) placed 3+ min ago whose video never connected, in ${Object.keys(bySession).length} session(s)`,
    { bySession },
  );
}

/** The sessions whose outboxes are read: live ones and those ended within the hour, newest first. */
export async function scannedSessions(db: D1Database, now: number): Promise<string[]> {
  const rows = (
    await db
      .prepare(`SELECT id FROM sessions WHERE phase != 'ended' OR ended_at >= ? ORDER BY created_at DESC LIMIT ${MAX_SESSIONS_SCANNED}`)
      .bind(now - RECENTLY_ENDED_MS)
      .all<Row>()
  ).results;
  return rows.map((r) => String(r.id));
}

/** Both outbox rules from one scan of the sessions' Durable Objects. */
export async function outboxRules(i: RuleInputs): Promise<[Evaluation, Evaluation]> {
  const ids = await scannedSessions(i.db, i.now);
  const { health, unreachable } = await i.sessionHealth(ids);
  if (ids.length > 0 && health.size === 0)
    return [
      { rule: "outbox_backlog", unknown: true, reason: `no session answered (${unreachable.length} tried)` },
      { rule: "outbox_dead_letters", unknown: true, reason: `no session answered (${unreachable.length} tried)` },
    ];
  let worst = 0;
  let worstSession: string | null = null;
  let pendingTotal = 0;
  let dead = 0;
  const deadSessions: string[] = [];
  for (const [id, h] of health) {
    pendingTotal += h.outboxPending;
    if (h.outboxPending > worst) [worst, worstSession] = [h.outboxPending, id];
    if (h.outboxDead > 0) {
      dead += h.outboxDead;
      deadSessions.push(id);
    }
  }
  const scanned = { scanned: health.size, unreachable: few(unreachable) };
  return [
    finding(
      "outbox_backlog",
      worst,
      i.thresholds.outbox_backlog,
      `largest outbox backlog ${worst} row(s)${worstSession ? ` (session ${worstSession})` : ""}; ${pendingTotal} pending in ${health.size} session(s)`,
      { ...scanned, worstSession, pendingTotal },
    ),
    finding("outbox_dead_letters", dead, i.thresholds.outbox_dead_letters, `${dead} row(s) set aside in ${deadSessions.length} session(s)`, {
      ...scanned,
      sessions: few(deadSessions),
    }),
  ];
}

const ORPHANS_D1_SQL = `SELECT m.session_id AS session_id, m.room_key AS room_key, m.name AS name
FROM media_rooms m
JOIN sessions s ON s.id = m.session_id
LEFT JOIN breakout_rooms r ON r.session_id = m.session_id AND r.room_id = m.room_key
WHERE m.status IN ('pending', 'ready')
  AND ((s.phase = 'ended' AND s.ended_at <= ?1) OR (m.room_key != 'main' AND r.status = 'closed' AND r.closed_at <= ?1))
LIMIT 500`;

/** Our provider rooms are named mb-<session>-<place> (lib/protocol.ts mediaRoomName). */
const OUR_ROOM = /^mb-([A-Za-z0-9_.:@]+)-(.+)$/;

export async function orphanMediaRooms(i: RuleInputs): Promise<Evaluation> {
  const before = i.now - ORPHAN_AFTER_MS;
  const d1 = (await i.db.prepare(ORPHANS_D1_SQL).bind(before).all<Row>()).results.map((r) => String(r.name));
  const orphans = new Set(d1);
  let twilioChecked = false;
  let twilioError: string | null = null;
  if (i.twilioRooms) {
    try {
      // Twilio may answer a room without a unique name or creation date (the spec has them nullable): not ours to judge.
      const rooms = (await i.twilioRooms()).flatMap((r) =>
        r.uniqueName !== null && r.dateCreated !== null && OUR_ROOM.test(r.uniqueName) && Date.parse(r.dateCreated) <= before
          ? [{ ...r, uniqueName: r.uniqueName }]
          : [],
      );
      const sessionIds = [...new Set(rooms.map((r) => OUR_ROOM.exec(r.uniqueName)![1]))];
      const known = new Map<string, Row>();
      for (let k = 0; k < sessionIds.length; k += 50) {
        const chunk = sessionIds.slice(k, k + 50);
        const rows = (
          await i.db
            .prepare(`SELECT id, phase, ended_at FROM sessions WHERE id IN (${chunk.map(() => "?").join(", ")})`)
            .bind(...chunk)
            .all<Row>()
        ).results;
        for (const r of rows) known.set(String(r.id), r);
      }
      for (const room of rooms) {
        const s = known.get(OUR_ROOM.exec(room.uniqueName)![1]);
        // Unknown to D1 (a crash before its first row, or another deployment's naming): open 10+ min, nobody wants it.
        if (!s || (s.phase === "ended" && num(s.ended_at) <= before)) orphans.add(room.uniqueName);
      }
      twilioChecked = true;
    } catch (err) {
      twilioError = err instanceof Error ? err.message.slice(0, 200) : String(err);
    }
  }
  if (i.twilioRooms && !twilioChecked && orphans.size === 0)
    return { rule: "orphan_media_rooms", unknown: true, reason: `Twilio rooms unreadable: ${twilioError}` };
  const list = [...orphans];
  return finding(
    "orphan_media_rooms",
    list.length,
    i.thresholds.orphan_media_rooms,
    `${list.length} media room(s) open 10+ min after they were no longer needed`,
    {
      rooms: few(list),
      twilioChecked,
      ...(twilioError ? { twilioError } : {}),
    },
  );
}

export async function errorRate(i: RuleInputs): Promise<Evaluation> {
  const row = await i.db
    .prepare(`SELECT COALESCE(SUM(n), 0) AS n FROM ops_error_counts WHERE minute >= ? AND minute <= ?`)
    .bind(Math.floor((i.now - ERROR_RATE_WINDOW_MS) / 60_000) * 60_000, i.now)
    .first<Row>();
  const n = num(row?.n);
  return finding("error_rate", n, i.thresholds.error_rate, `${n} server error(s) (HTTP 5xx) in the last 5 min`, { windowMinutes: 5 });
}

/** Every rule, each on its own: one failing read makes that rule unknown, not the run. */
export async function evaluateAll(i: RuleInputs): Promise<Evaluation[]> {
  const guard = async (rules: RuleId[], run: () => Promise<Evaluation | Evaluation[]>): Promise<Evaluation[]> => {
    try {
      const r = await run();
      return Array.isArray(r) ? r : [r];
    } catch (err) {
      const reason = err instanceof Error ? err.message.slice(0, 200) : String(err);
      return rules.map((rule) => ({ rule, unknown: true as const, reason }));
    }
  };
  const parts = await Promise.all([
    guard(["twilio_room_failures"], () => twilioRoomFailures(i)),
    guard(["media_connect_stuck"], () => mediaConnectStuck(i)),
    guard(["outbox_backlog", "outbox_dead_letters"], () => outboxRules(i)),
    guard(["orphan_media_rooms"], () => orphanMediaRooms(i)),
    guard(["error_rate"], () => errorRate(i)),
  ]);
  return parts.flat();
}
