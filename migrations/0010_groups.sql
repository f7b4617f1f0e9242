-- Recurring groups (issue 15 item 7; docs/protocol.md 17.7): a facilitator's standing group with one invite link from
-- week to week, the sessions it has held, and the clients who came (keyed by the identity their group credential names).
CREATE TABLE IF NOT EXISTS therapy_groups (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,               -- identity of the facilitator: "user:<IdP subject>"
  owner_name TEXT NOT NULL,          -- shown on the standing link's page
  name TEXT NOT NULL,
  link_code TEXT NOT NULL,           -- the standing link /g/<code>: 128 random bits; replacing it retires the old link
  plan_id TEXT,                      -- a session_plans id of the owner's, loaded into each new session (optional)
  created_at INTEGER NOT NULL,       -- epoch ms
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_therapy_groups_link ON therapy_groups(link_code);
CREATE INDEX IF NOT EXISTS idx_therapy_groups_owner ON therapy_groups(owner, created_at);

CREATE TABLE IF NOT EXISTS group_sessions (
  session_id TEXT PRIMARY KEY,
  group_id TEXT NOT NULL,
  invite_id TEXT NOT NULL,           -- the session's participant invite the standing link hands out
  started_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_group_sessions_group ON group_sessions(group_id, started_at);

CREATE TABLE IF NOT EXISTS group_members (
  group_id TEXT NOT NULL,
  identity TEXT NOT NULL,            -- "guest:<group id prefix>:<random>" (group credential) or "user:<IdP subject>"
  display_name TEXT NOT NULL,        -- the name they last joined with (staff only)
  first_seen_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, identity)
);
