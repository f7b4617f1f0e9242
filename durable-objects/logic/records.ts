/**
 * What one applied event writes to D1, as plain statements for the outbox. Pure, and every statement is
 * idempotent (deterministic keys, upserts, INSERT OR IGNORE), so a batch retried after a lost response
 * writes each row exactly once.
 */
import type { AnalyticsRecord } from "../../lib/runtime/analytics";
import { COMMANDS, MAIN_ROOM, mediaRoomName, type Notice, type SessionPhase } from "../../lib/protocol";
import { isCommandEvent, type Actor, type SessionContext, type SessionEvent } from "./model";
import type { Refusal } from "./rules";

export interface Statement {
  sql: string;
  params: (string | number | null)[];
}

export interface RecordInput {
  eventNo: number;
  event: SessionEvent;
  actor: Actor;
  prev: SessionContext;
  next: SessionContext;
  prevPhase: SessionPhase;
  phase: SessionPhase;
  notices: Notice[];
}

const UPSERT_SESSION = `INSERT INTO sessions (id, title, created_by, phase, media_provider, created_at, ended_at, rounds_completed, settings)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET title = excluded.title, phase = excluded.phase, ended_at = excluded.ended_at,
  rounds_completed = excluded.rounds_completed, settings = excluded.settings`;

const UPSERT_MEMBER = `INSERT INTO session_participants (session_id, member_id, identity, display_name, role, status, joined_at, admitted_at, left_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(session_id, member_id) DO UPDATE SET display_name = excluded.display_name, role = excluded.role,
  status = excluded.status, admitted_at = excluded.admitted_at, left_at = excluded.left_at`;

const UPSERT_ROOM = `INSERT INTO breakout_rooms (session_id, room_id, round, name, capacity, status, media_room_name, media_room_sid, is_active, created_at, opened_at, closed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(session_id, room_id) DO UPDATE SET name = excluded.name, capacity = excluded.capacity, status = excluded.status,
  media_room_sid = COALESCE(excluded.media_room_sid, breakout_rooms.media_room_sid), is_active = excluded.is_active,
  opened_at = excluded.opened_at, closed_at = excluded.closed_at`;

// Close the member's open stay, except the one this same event opens (so a replayed batch cannot close it).
// Only stays begun at an earlier event are closed: a replayed old event must not close a stay a later one opened.
const CLOSE_STAY = `UPDATE breakout_room_participants SET left_at = ? WHERE session_id = ? AND member_id = ? AND left_at IS NULL AND id <> ?
  AND (began_seq IS NULL OR began_seq < ?)`;
const OPEN_STAY = `INSERT OR IGNORE INTO breakout_room_participants (id, session_id, member_id, location, round, joined_at, left_at, began_seq) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)`;
const TRANSITION = `INSERT OR IGNORE INTO breakout_room_transitions (id, session_id, seq, member_id, from_location, to_location, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const ANALYTICS = `INSERT OR IGNORE INTO session_analytics_events (id, session_id, seq, event, actor, target, data, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
const AUDIT = `INSERT OR IGNORE INTO audit_log (id, session_id, actor, actor_role, action, target, result, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
const UPSERT_MEDIA = `INSERT INTO media_rooms (session_id, room_key, name, sid, status, created_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(session_id, room_key) DO UPDATE SET name = excluded.name, sid = COALESCE(excluded.sid, media_rooms.sid), status = excluded.status,
  completed_at = excluded.completed_at`;

function commandTarget(e: SessionEvent): string | null {
  const x = e as Record<string, unknown>;
  for (const k of ["memberId", "roomId", "to", "identity", "memberA", "messageId", "location"]) if (typeof x[k] === "string") return x[k] as string;
  return null;
}

export function sessionRow(ctx: SessionContext, phase: SessionPhase): Statement {
  return {
    sql: UPSERT_SESSION,
    params: [ctx.sessionId, ctx.title, ctx.createdBy, phase, ctx.mediaProvider, ctx.createdAt, ctx.endedAt, ctx.roundsCompleted, JSON.stringify(ctx.settings)],
  };
}

function reasonOf(e: SessionEvent): string {
  return e.type === "tick" ? "timer" : e.type;
}

export function recordsFor(input: RecordInput): { statements: Statement[]; analytics: AnalyticsRecord[] } {
  const { eventNo, event, actor, prev, next, prevPhase, phase, notices } = input;
  const sid = next.sessionId;
  const at = event.now;
  const out: Statement[] = [];
  const analytics: AnalyticsRecord[] = [];

  if (prevPhase !== phase || prev.settings !== next.settings || prev.roundsCompleted !== next.roundsCompleted || prev.endedAt !== next.endedAt || eventNo === 1)
    out.push(sessionRow(next, phase));

  if (prev.members !== next.members) {
    for (const [id, m] of Object.entries(next.members)) {
      const before = prev.members[id];
      if (before === m) continue;
      if (!before || before.status !== m.status || before.name !== m.name || before.role !== m.role)
        out.push({ sql: UPSERT_MEMBER, params: [sid, id, m.identity, m.name, m.role, m.status, m.joinedAt, m.admittedAt, m.leftAt] });
      if (!before) {
        analytics.push({ event: "participant_joined", actor: id, target: null, data: { role: m.role, status: m.status } });
        // Admitted on arrival (staff, or autoAdmit): an admission all the same, so admissions count everyone admitted.
        if (m.status === "admitted") analytics.push({ event: "participant_admitted", actor: actor.memberId, target: id, data: { role: m.role } });
      } else if (before.status !== m.status) {
        const kind =
          m.status === "admitted"
            ? "participant_admitted"
            : m.status === "denied"
              ? "participant_denied"
              : m.status === "left"
                ? "participant_left"
                : "participant_waiting";
        const data: Record<string, unknown> = { role: m.role };
        // Time since admission for departures (whole membership, this admission).
        if ((m.status === "left" || m.status === "denied") && before.status === "admitted" && m.admittedAt !== null && m.leftAt !== null)
          data.durationMs = Math.max(0, m.leftAt - m.admittedAt);
        analytics.push({ event: kind, actor: actor.memberId, target: id, data });
      }
      if (before && before.connected !== m.connected)
        analytics.push({ event: m.connected ? "participant_connected" : "participant_disconnected", actor: id, target: null, data: { role: m.role } });
      const from = before?.location ?? null;
      if (from === m.location) continue;
      const stayId = `${sid}:${id}:${eventNo}`;
      out.push({ sql: CLOSE_STAY, params: [at, sid, id, stayId, eventNo] });
      if (m.location !== null) out.push({ sql: OPEN_STAY, params: [stayId, sid, id, m.location, next.round?.number ?? prev.round?.number ?? 0, at, eventNo] });
      out.push({ sql: TRANSITION, params: [`${sid}:${eventNo}:${id}`, sid, eventNo, id, from, m.location, actor.memberId, reasonOf(event), at] });
      if (from !== null && m.location !== null && event.type !== "tick")
        analytics.push({ event: "participant_moved", actor: actor.memberId, target: id, data: { from, to: m.location, reason: reasonOf(event) } });
    }
  }

  if (prev.rooms !== next.rooms) {
    for (const [id, r] of Object.entries(next.rooms)) {
      if (prev.rooms[id] === r) continue;
      const media = next.media[id];
      out.push({
        sql: UPSERT_ROOM,
        params: [
          sid,
          id,
          r.round,
          r.name,
          r.capacity,
          r.status,
          mediaRoomName(sid, id),
          media?.sid ?? null,
          r.status === "open" ? 1 : 0,
          at,
          r.openedAt,
          r.closedAt,
        ],
      });
    }
  }

  if (prev.media !== next.media) {
    for (const [key, m] of Object.entries(next.media)) {
      if (prev.media[key] === m) continue;
      out.push({ sql: UPSERT_MEDIA, params: [sid, key, m.name, m.sid, m.status, at, m.status === "completed" ? at : null] });
      if (key !== MAIN_ROOM && next.rooms[key] && m.sid)
        out.push({ sql: `UPDATE breakout_rooms SET media_room_sid = ? WHERE session_id = ? AND room_id = ?`, params: [m.sid, sid, key] });
      if (m.status === "failed") analytics.push({ event: "twilio_call_failed", actor: "system", target: key, data: { error: m.error } });
    }
  }

  // Session-level analytics from the phase change.
  if (prevPhase !== phase) {
    if (phase === "open") {
      const open = Object.values(next.rooms).filter((r) => r.status === "open");
      const placed = Object.values(next.members).filter((m) => m.status === "admitted" && m.location !== null && m.location !== MAIN_ROOM).length;
      analytics.push({
        event: "breakout_round_opened",
        actor: actor.memberId,
        target: null,
        data: { round: next.round?.number, rooms: open.length, placed, mode: next.round?.mode, durationSeconds: next.round?.durationSeconds ?? null },
      });
    }
    if ((prevPhase === "open" || prevPhase === "closing") && phase !== "open" && phase !== "closing") {
      const openedAt = prev.round?.openedAt ?? null;
      const rooms = Object.values(prev.rooms).filter((r) => r.round === prev.round?.number && r.openedAt !== null).length;
      analytics.push({
        event: "breakout_round_closed",
        actor: actor.memberId,
        target: null,
        data: { round: prev.round?.number, rooms, durationMs: openedAt !== null ? Math.max(0, at - openedAt) : null },
      });
    }
    if (phase === "ended")
      analytics.push({
        event: "session_ended",
        actor: actor.memberId,
        target: null,
        data: {
          reason: next.endReason,
          provider: next.mediaProvider,
          durationMs: Math.max(0, (next.endedAt ?? at) - next.createdAt),
          // Everyone ever admitted (facilitator included): the session's participant count.
          participants: Object.values(next.members).filter((m) => m.admittedAt !== null).length,
          rounds: next.roundsCompleted,
          rooms: Object.keys(next.rooms).length,
        },
      });
  }
  if (eventNo === 1)
    analytics.push({
      event: "session_created",
      actor: actor.memberId,
      target: null,
      data: { provider: next.mediaProvider, maxSessionSeconds: next.settings.maxSessionSeconds, maxParticipantsPerRoom: next.settings.maxParticipantsPerRoom },
    });
  for (const n of notices) {
    if (n.kind === "broadcast") analytics.push({ event: "broadcast", actor: n.from, target: n.roomId, data: null });
    if (n.kind === "helpRequested") analytics.push({ event: "help_requested", actor: n.memberId, target: n.location, data: null });
    if (n.kind === "checkInRequested") analytics.push({ event: "checkin_requested", actor: n.memberId, target: n.location, data: null });
  }
  if (event.type === "quality")
    analytics.push({
      event: "connection_quality",
      actor: event.memberId,
      target: null,
      data: { level: event.level, role: next.members[event.memberId]?.role ?? null },
    });
  if (event.type === "mediaProblem" && event.code !== null)
    analytics.push({ event: "media_problem", actor: event.memberId, target: next.members[event.memberId]?.location ?? null, data: { code: event.code } });
  if (event.type === "arrival" && event.mediaRoom) analytics.push({ event: "participant_arrived", actor: event.memberId, target: event.mediaRoom, data: null });

  for (const [i, a] of analytics.entries())
    out.push({ sql: ANALYTICS, params: [`${sid}:${eventNo}:${i}`, sid, eventNo, a.event, a.actor, a.target, a.data ? JSON.stringify(a.data) : null, at] });

  if (isCommandEvent(event) && COMMANDS[event.type].audited)
    out.push(auditRow(sid, `${sid}:${eventNo}:audit`, actor, event.type, commandTarget(event), "ok", at));

  // "Remove and revoke this invite": the invite stops working for everyone (the Worker reads revoked_at at each join).
  if (event.type === "removeMember" && event.revokeInvite) {
    const inviteId = prev.members[event.memberId]?.inviteId;
    if (inviteId) {
      out.push({ sql: REVOKE_INVITE, params: [at, inviteId, sid] });
      out.push(auditRow(sid, `${sid}:${eventNo}:revoke`, actor, "revokeInvite", inviteId, "ok", at));
    }
  }
  // Chat reaches D1 only when the facilitator keeps it in the session record (the setting at the time of sending).
  if (prev.chat !== next.chat) {
    if (next.settings.keepChatInRecord)
      for (const [id, c] of Object.entries(next.chat))
        if (!prev.chat[id]) out.push({ sql: CHAT_ROW, params: [`${sid}:${id}`, sid, id, c.channel, c.kind, c.from, c.text, c.at] });
    if (event.type === "deleteChat") out.push({ sql: CHAT_DELETED, params: [at, event.actor.memberId, `${sid}:${event.messageId}`] });
  }
  // The group agreement: each acceptance at the door (member, time, hash of the exact text), and declines as a count.
  if (event.type === "memberJoined" && event.agreementHash) {
    const m = Object.values(next.members).find((x) => x.identity === event.identity);
    if (m) {
      out.push({ sql: ACCEPTANCE, params: [`${sid}:${m.id}:${eventNo}`, sid, m.id, event.agreementHash, at] });
      out.push({ sql: AGREEMENT_TEXT, params: [sid, event.agreementHash, next.settings.agreement, at] });
    }
  }
  if (prev.agreementDeclines !== next.agreementDeclines) out.push({ sql: DECLINES, params: [next.agreementDeclines, sid] });
  if (event.type === "mediaIntruder") {
    const m = Object.values(next.members).find((x) => x.identity === event.identity || x.id === event.identity);
    out.push(auditRow(sid, `${sid}:${eventNo}:intruder`, actor, "mediaIntruderRemoved", m?.id ?? "unknown", `ok:${event.key}`, at));
  }
  return { statements: out, analytics };
}

const ACCEPTANCE = `INSERT OR IGNORE INTO agreement_acceptances (id, session_id, member_id, text_hash, accepted_at) VALUES (?, ?, ?, ?, ?)`;
const AGREEMENT_TEXT = `INSERT OR IGNORE INTO agreement_texts (session_id, text_hash, text, first_accepted_at) VALUES (?, ?, ?, ?)`;
// The count as the session holds it (MAX: a replayed older batch cannot lower it).
const DECLINES = `UPDATE sessions SET agreement_declines = MAX(agreement_declines, ?) WHERE id = ?`;
const CHAT_ROW = `INSERT OR IGNORE INTO chat_messages (id, session_id, message_id, channel, kind, from_member, text, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
const CHAT_DELETED = `UPDATE chat_messages SET text = '', deleted_at = ?, deleted_by = ? WHERE id = ? AND deleted_at IS NULL`;
const REVOKE_INVITE = `UPDATE invites SET revoked_at = ? WHERE id = ? AND session_id = ? AND revoked_at IS NULL`;
const REFUSAL = `INSERT INTO audit_log (id, session_id, actor, actor_role, action, target, result, at, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET count = MAX(audit_log.count, excluded.count)`;

export function auditRow(sessionId: string | null, id: string, actor: Actor, action: string, target: string | null, result: string, at: number): Statement {
  return { sql: AUDIT, params: [id, sessionId, actor.memberId, actor.role, action, target, result, at] };
}

/** Refusals of one member's command with one code are audited once per window, with their count so far. */
export const REFUSAL_WINDOW_MS = 60_000;

/**
 * A refused command: nothing changes, but the attempt is audited, coalesced: one row per member, command, refusal
 * code and minute, carrying how many there were (`count` is the caller's running count; re-sent, it changes nothing).
 */
export function refusalRecord(sessionId: string, actor: Actor, event: SessionEvent, refusal: Refusal, count: number): Statement {
  const window = Math.floor(event.now / REFUSAL_WINDOW_MS) * REFUSAL_WINDOW_MS;
  const id = `${sessionId}:refused:${actor.memberId}:${event.type}:${refusal.code}:${window}`;
  return { sql: REFUSAL, params: [id, sessionId, actor.memberId, actor.role, event.type, commandTarget(event), `refused:${refusal.code}`, window, count] };
}

/** The coalescing key of a refusal (the caller counts per key). */
export function refusalKey(actor: Actor, event: SessionEvent, refusal: Refusal): string {
  return `${actor.memberId}:${event.type}:${refusal.code}:${Math.floor(event.now / REFUSAL_WINDOW_MS)}`;
}
