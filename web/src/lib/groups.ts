/**
 * The group page's attendance table (web/src/pages/Groups.tsx) from GET /api/groups/:groupId: one column per session,
 * newest first; one row per client with their minutes in each (null when they missed it).
 */
import type { GroupHistory } from "./api";

export interface HistoryTable {
  columns: { sessionId: string; title: string; startedAt: number }[];
  rows: { identity: string; name: string; attended: number; lastSeenAt: number; cells: (number | null)[] }[];
}

export function historyTable(history: Pick<GroupHistory, "sessions" | "members">): HistoryTable {
  const columns = history.sessions.map((s) => ({ sessionId: s.sessionId, title: s.title, startedAt: s.startedAt }));
  const rows = history.members.map((m) => ({
    identity: m.identity,
    name: m.name,
    attended: m.sessionsAttended,
    lastSeenAt: m.lastSeenAt,
    cells: columns.map((c) => m.minutes[c.sessionId] ?? null),
  }));
  return { columns, rows };
}

/** Minutes as the table shows them: whole minutes, "<1" for a brief visit, "—" for a missed session. */
export function minutesText(minutes: number | null): string {
  if (minutes === null) return "—";
  if (minutes > 0 && minutes < 1) return "<1";
  return String(Math.round(minutes));
}
