/**
 * Session reports and the live cost estimate, mounted under /api/sessions:
 * - GET /:id/report      attendance, time per member per room, participant-minutes and estimated cost per media room,
 *                        cost controls and the live estimate (JSON)
 * - GET /:id/report.csv  the same as one CSV table
 * - GET /:id/cost        the live estimate for the console
 * - GET /:id/attendance      per member: admitted and left, minutes per room, staff present, help and check-in
 *                            requests (lib/attendance.ts, from the same stays as the report: the sums agree)
 * - GET /:id/attendance.csv  the same as one CSV table
 *
 * Who may read them: current staff of that session (worker/auth/staff.ts: admitted now, or still in it when it ended;
 * facilitator or co-facilitator ticket), the user who created the session
 * (their user token), or an operator (user token with appRole "operator"). Everything is computed by the pure
 * lib/cost.ts from the session's D1 rows, after asking the session to flush its outbox so the rows
 * are current.
 */
import { Hono } from "hono";
import { buildReport, priceNanosFrom, reportCsv, type MemberRow, type RoomRow, type SessionReport, type SessionRow, type StayRow } from "../../lib/cost";
import { attendanceCsv, buildAttendance, REQUEST_EVENTS, type AttendanceRecord, type RequestEventRow } from "../../lib/attendance";
import { verifyMemberTicket, verifyUserOrDevToken } from "../auth/app-tokens";
import { NOT_CURRENT_STAFF, staffStanding } from "../auth/staff";
import { AuthError } from "../auth/user-tokens";
import type { Bindings } from "../../lib/runtime/env";
import { createLogger } from "../../lib/runtime/log";
import { apiError } from "../middleware/security";
import { bearer, errorResponse, sessionStub, type AppContext, type AppEnv } from "../http";

export type ReportAccess = { kind: "staff"; memberId: string; role: string } | { kind: "operator"; userId: string } | { kind: "owner"; userId: string };

const NO_STORE = { "Cache-Control": "no-store" };

/**
 * Who is asking, or a typed refusal. A member ticket for this session must belong to staff (as the session knows them
 * now); any other bearer is tried as a user token: operators may read every session, the creator their own.
 */
export async function reportAccess(c: AppContext, sessionId: string): Promise<ReportAccess | Response> {
  const token = bearer(c);
  if (!token) return apiError(c, 401, "UNAUTHENTICATED", "a staff ticket or an operator sign-in is required");
  let ticketError: AuthError | null = null;
  try {
    const claims = await verifyMemberTicket(c.env, token, sessionId);
    const standing = await staffStanding(sessionStub(c.env, sessionId), claims.memberId);
    c.set("memberId", claims.memberId);
    if (standing.current) return { kind: "staff", memberId: claims.memberId, role: standing.role };
    if (standing.why === "unknown") return apiError(c, 401, "UNAUTHENTICATED", "you are not a member of this session");
    if (standing.why === "not-staff") return apiError(c, 403, "FORBIDDEN", "only facilitators and operators read session reports");
    return apiError(c, 403, "FORBIDDEN", `only the session's current staff read its report: ${NOT_CURRENT_STAFF[standing.why]}`);
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    if (err.code === "WRONG_SESSION" || err.code === "CREDENTIAL_EXPIRED") throw err;
    ticketError = err;
  }
  let user: Awaited<ReturnType<typeof verifyUserOrDevToken>>;
  try {
    user = await verifyUserOrDevToken(c.env, token);
  } catch (err) {
    // Neither a ticket nor a user token: report the ticket problem unless the token said it was a user token.
    if (err instanceof AuthError && err.reason !== "kind") throw err;
    throw ticketError ?? err;
  }
  if (user.appRole === "operator") return { kind: "operator", userId: user.userId };
  const createdBy = () => c.env.DB.prepare(`SELECT created_by FROM sessions WHERE id = ?`).bind(sessionId).first<{ created_by: string }>();
  let row = await createdBy();
  if (!row) {
    // D1 follows the session through its outbox: a session created a moment ago may not be there yet.
    await sessionStub(c.env, sessionId)
      .flushOutbox()
      .catch(() => undefined);
    row = await createdBy();
  }
  if (row && row.created_by === `user:${user.userId}`) return { kind: "owner", userId: user.userId };
  return apiError(c, 403, "FORBIDDEN", "only facilitators and operators read session reports");
}

/** The session clock now (the session's own: in development tests can move it ahead of the wall clock). */
export async function sessionNow(env: Bindings, sessionId: string): Promise<number> {
  try {
    return await sessionStub(env, sessionId).clock();
  } catch {
    return Date.now();
  }
}

export interface SessionRows {
  session: SessionRow;
  /** With each member's identity: who they were across sessions (a recurring group's history). */
  members: (MemberRow & { identity: string })[];
  rooms: RoomRow[];
  stays: StayRow[];
}

/** The session's rows, after a best-effort outbox flush so they are current. Null when D1 has no such session. */
export async function loadSessionRows(env: Bindings, sessionId: string, log?: ReturnType<typeof createLogger>): Promise<SessionRows | null> {
  try {
    await sessionStub(env, sessionId).flushOutbox();
  } catch (err) {
    log?.warn("report: outbox flush failed; the report may lag a little", { sessionId, error: String(err) });
  }
  return (await rowsOfSessions(env, [sessionId])).get(sessionId) ?? null;
}

/**
 * The report rows of these sessions as D1 has them now (no flush), by session id, in one batch; a session D1 has no
 * record of is absent. At most 90 ids (D1 binds at most 100 parameters a statement).
 */
export async function rowsOfSessions(env: Bindings, sessionIds: readonly string[]): Promise<Map<string, SessionRows>> {
  const out = new Map<string, SessionRows>();
  if (sessionIds.length === 0) return out;
  if (sessionIds.length > 90) throw new Error("rowsOfSessions: at most 90 sessions at a time");
  const list = sessionIds.map((_, i) => `?${i + 1}`).join(", ");
  const [s, m, r, st] = await env.DB.batch(
    [
      env.DB.prepare(`SELECT id, title, phase, media_provider, created_at, ended_at, rounds_completed, settings FROM sessions WHERE id IN (${list})`),
      env.DB.prepare(
        `SELECT session_id, member_id, identity, display_name, role, status, joined_at, admitted_at, left_at FROM session_participants WHERE session_id IN (${list})`,
      ),
      env.DB.prepare(`SELECT session_id, room_id, name, round, status, capacity, opened_at, closed_at FROM breakout_rooms WHERE session_id IN (${list})`),
      env.DB.prepare(`SELECT session_id, member_id, location, joined_at, left_at FROM breakout_room_participants WHERE session_id IN (${list})`),
    ].map((statement) => statement.bind(...sessionIds)),
  );
  for (const session of s.results as unknown as SessionRow[]) out.set(session.id, { session, members: [], rooms: [], stays: [] });
  type OfSession<T> = T & { session_id: string };
  for (const row of m.results as unknown as OfSession<SessionRows["members"][number]>[]) out.get(row.session_id)?.members.push(row);
  for (const row of r.results as unknown as OfSession<RoomRow>[]) out.get(row.session_id)?.rooms.push(row);
  for (const row of st.results as unknown as OfSession<StayRow>[]) out.get(row.session_id)?.stays.push(row);
  return out;
}

/** Authorise, load and compute; a Response when refused or missing. */
async function reportFor(c: AppContext): Promise<SessionReport | Response> {
  const loaded = await reportWithRows(c);
  return loaded instanceof Response ? loaded : loaded.report;
}

/** reportFor, with the rows it was computed from (attendance is derived from the very same stays). */
async function reportWithRows(c: AppContext): Promise<{ report: SessionReport; rows: SessionRows } | Response> {
  const sessionId = c.req.param("id")!;
  if (!/^[A-Za-z0-9_.:@-]{1,64}$/.test(sessionId)) return apiError(c, 404, "NOT_FOUND", "no such session");
  const access = await reportAccess(c, sessionId);
  if (access instanceof Response) return access;
  const log = createLogger(c.env, { requestId: c.get("requestId") });
  const rows = await loadSessionRows(c.env, sessionId, log);
  if (!rows) return apiError(c, 404, "NOT_FOUND", "no such session");
  const now = await sessionNow(c.env, sessionId);
  const report = buildReport({ ...rows, now, priceNanos: priceNanosFrom(c.env.PRICE_PER_PARTICIPANT_MINUTE) });
  log.info("report computed", { sessionId, access: access.kind, rooms: report.rooms.length, members: report.attendance.length });
  return { report, rows };
}

export const reports = new Hono<AppEnv>();

reports.get("/:id/report.csv", async (c) => {
  try {
    const report = await reportFor(c);
    if (report instanceof Response) return report;
    return c.body(reportCsv(report), 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="session-${report.session.id}-report.csv"`,
      ...NO_STORE,
    });
  } catch (err) {
    return errorResponse(c, err);
  }
});

reports.get("/:id/report", async (c) => {
  try {
    const report = await reportFor(c);
    if (report instanceof Response) return report;
    return c.json(report, 200, NO_STORE);
  } catch (err) {
    return errorResponse(c, err);
  }
});

/** The live estimate for the console: what the session has cost so far, the burn rate, and the worst case. */
reports.get("/:id/cost", async (c) => {
  try {
    const report = await reportFor(c);
    if (report instanceof Response) return report;
    return c.json(
      {
        sessionId: report.session.id,
        phase: report.session.phase,
        asOf: report.asOf,
        price: report.price,
        billedByTwilio: report.billedByTwilio,
        costControls: report.costControls,
        rooms: report.rooms.map((r) => ({
          key: r.key,
          name: r.name,
          status: r.status,
          participantMinutes: r.participantMinutes,
          costMicros: r.costMicros,
          costUsd: r.costUsd,
        })),
        totals: report.totals,
        estimate: report.estimate,
      },
      200,
      NO_STORE,
    );
  } catch (err) {
    return errorResponse(c, err);
  }
});

/** The attendance record: the report's rows and asOf, plus the session's help and check-in requests. */
async function attendanceFor(c: AppContext): Promise<AttendanceRecord | Response> {
  const loaded = await reportWithRows(c);
  if (loaded instanceof Response) return loaded;
  const { results } = await c.env.DB.prepare(`SELECT event, actor, at FROM session_analytics_events WHERE session_id = ?1 AND event IN (?2, ?3) ORDER BY seq`)
    .bind(loaded.report.session.id, REQUEST_EVENTS.help, REQUEST_EVENTS.checkIn)
    .all<RequestEventRow>();
  return buildAttendance({ report: loaded.report, stays: loaded.rows.stays, requests: results });
}

reports.get("/:id/attendance.csv", async (c) => {
  try {
    const record = await attendanceFor(c);
    if (record instanceof Response) return record;
    return c.body(attendanceCsv(record), 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="session-${record.session.id}-attendance.csv"`,
      ...NO_STORE,
    });
  } catch (err) {
    return errorResponse(c, err);
  }
});

reports.get("/:id/attendance", async (c) => {
  try {
    const record = await attendanceFor(c);
    if (record instanceof Response) return record;
    return c.json(record, 200, NO_STORE);
  } catch (err) {
    return errorResponse(c, err);
  }
});
