/**
 * Recurring groups (docs/protocol.md 17.7): the attendance history across a group's sessions, from each session's
 * report (lib/cost.ts buildReport, the same minutes as its attendance record and cost report) and who each member was
 * (session_participants.identity: the identity a group credential names, so one person is one row across weeks).
 */
import type { SessionReport } from "./cost";

export const GROUP_HISTORY_SESSIONS = 26;

/** A recurring group as its facilitator sees it (GET /api/groups and every answer about one group). */
export interface GroupSummary {
  id: string;
  name: string;
  planId: string | null;
  /** The standing link clients keep from week to week: /g/<code>. */
  linkUrl: string;
  createdAt: number;
  sessions: number;
  members: number;
  current: { sessionId: string; title: string; startedAt: number } | null;
}

/** The standing link resolved (GET /api/group-links/:code): the current session's invite, or null between sessions. */
export interface GroupLinkAnswer {
  groupId: string;
  groupName: string;
  facilitatorName: string;
  session: { sessionId: string; title: string; invite: string } | null;
}

export interface GroupSessionRow {
  sessionId: string;
  title: string;
  startedAt: number;
  endedAt: number | null;
  /** Clients who spent any time in it. */
  attended: number;
}

export interface GroupMemberRow {
  identity: string;
  /** The name they last joined with. */
  name: string;
  firstSeenAt: number;
  lastSeenAt: number;
  sessionsAttended: number;
  /** Minutes attended per session id; absent for sessions they missed. */
  minutes: Record<string, number>;
}

export interface GroupHistoryInput {
  /** The group's sessions, newest first, each with its report (null when D1 has no record of it yet). */
  sessions: { sessionId: string; startedAt: number; report: SessionReport | null }[];
  /** group_members rows: who has come to the group. */
  members: { identity: string; display_name: string; first_seen_at: number; last_seen_at: number }[];
  /** session_participants: which identity each member of each session was. */
  participants: { session_id: string; member_id: string; identity: string }[];
}

/** The group page's table: one row per client, newest sessions first; members who came most recently first. */
export function buildGroupHistory(input: GroupHistoryInput): { sessions: GroupSessionRow[]; members: GroupMemberRow[] } {
  const identityOf = new Map(input.participants.map((p) => [`${p.session_id}\u0000${p.member_id}`, p.identity]));
  const minutesByIdentity = new Map<string, Record<string, number>>();
  const sessions: GroupSessionRow[] = input.sessions.map(({ sessionId, startedAt, report }) => {
    let attended = 0;
    for (const entry of report?.attendance ?? []) {
      if (entry.role !== "participant" || entry.totalMs <= 0) continue;
      const identity = identityOf.get(`${sessionId}\u0000${entry.memberId}`);
      if (!identity) continue;
      const minutes = minutesByIdentity.get(identity) ?? {};
      // One person is one member of a session; should two rows share an identity, their minutes add up.
      minutes[sessionId] = (minutes[sessionId] ?? 0) + entry.totalMinutes;
      minutesByIdentity.set(identity, minutes);
      attended++;
    }
    return { sessionId, title: report?.session.title ?? "", startedAt, endedAt: report?.session.endedAt ?? null, attended };
  });
  const members: GroupMemberRow[] = input.members
    .map((m) => {
      const minutes = minutesByIdentity.get(m.identity) ?? {};
      return {
        identity: m.identity,
        name: m.display_name,
        firstSeenAt: m.first_seen_at,
        lastSeenAt: m.last_seen_at,
        sessionsAttended: Object.keys(minutes).length,
        minutes,
      };
    })
    .sort((a, b) => b.lastSeenAt - a.lastSeenAt || a.name.localeCompare(b.name) || (a.identity < b.identity ? -1 : 1));
  return { sessions, members };
}
