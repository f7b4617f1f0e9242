/**
 * A recurring group's roster in D1 (`group_sessions`, `group_members`; docs/protocol.md 17.7), as the join needs it:
 * whether a session is one of a group's, and that a client came.
 */
/** The group a session belongs to, or null: what the join asks to recognise a returning client. */
export async function groupOfSession(db: D1Database, sessionId: string): Promise<string | null> {
  const row = await db.prepare(`SELECT group_id FROM group_sessions WHERE session_id = ?1`).bind(sessionId).first<{ group_id: string }>();
  return row?.group_id ?? null;
}

/** A client came to one of the group's sessions: they are (still) on its roster, under the name they gave. */
export async function recordGroupMember(db: D1Database, groupId: string, identity: string, name: string, now = Date.now()): Promise<void> {
  await db
    .prepare(
      `INSERT INTO group_members (group_id, identity, display_name, first_seen_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4)
       ON CONFLICT (group_id, identity) DO UPDATE SET display_name = excluded.display_name, last_seen_at = excluded.last_seen_at`,
    )
    .bind(groupId, identity, name, now)
    .run();
}
