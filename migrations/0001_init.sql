-- MindBloom Video: D1 schema. Every row is written by the session Durable Object's outbox with
-- deterministic keys, so a retried batch is idempotent.

CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  created_by TEXT NOT NULL,          -- identity of the facilitator who created it
  phase TEXT NOT NULL,               -- main | preparing | open | closing | ended
  media_provider TEXT NOT NULL,      -- twilio | local
  created_at INTEGER NOT NULL,       -- epoch ms
  ended_at INTEGER,
  rounds_completed INTEGER NOT NULL DEFAULT 0,
  settings TEXT NOT NULL             -- JSON
);
CREATE INDEX IF NOT EXISTS idx_sessions_created_at ON sessions(created_at);

CREATE TABLE IF NOT EXISTS session_participants (
  session_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  identity TEXT NOT NULL,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL,                -- facilitator | cofacilitator | participant
  status TEXT NOT NULL,              -- waiting | admitted | denied | left
  joined_at INTEGER NOT NULL,
  admitted_at INTEGER,
  left_at INTEGER,
  PRIMARY KEY (session_id, member_id)
);

CREATE TABLE IF NOT EXISTS breakout_rooms (
  session_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  name TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  status TEXT NOT NULL,              -- preparing | open | closed
  media_room_name TEXT NOT NULL,
  media_room_sid TEXT,
  is_active INTEGER NOT NULL,        -- 1 while open (kept for the old dashboards' queries)
  created_at INTEGER NOT NULL,
  opened_at INTEGER,
  closed_at INTEGER,
  PRIMARY KEY (session_id, room_id)
);
CREATE INDEX IF NOT EXISTS idx_breakout_rooms_active ON breakout_rooms(is_active);

-- One row per stay of a member in a place (main or a breakout room): joined_at .. left_at.
CREATE TABLE IF NOT EXISTS breakout_room_participants (
  id TEXT PRIMARY KEY,               -- <session>:<member>:<seq at which the stay began>
  session_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  location TEXT NOT NULL,            -- "main" or a breakout room id
  round INTEGER NOT NULL,
  joined_at INTEGER NOT NULL,
  left_at INTEGER
);
CREATE INDEX IF NOT EXISTS idx_brp_session ON breakout_room_participants(session_id, member_id);

CREATE TABLE IF NOT EXISTS breakout_room_transitions (
  id TEXT PRIMARY KEY,               -- <session>:<seq>:<member>
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  member_id TEXT NOT NULL,
  from_location TEXT,
  to_location TEXT,
  actor TEXT NOT NULL,               -- member id of who caused it, or "system"
  reason TEXT NOT NULL,              -- command or timer that caused it
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_brt_session ON breakout_room_transitions(session_id, seq);

CREATE TABLE IF NOT EXISTS session_analytics_events (
  id TEXT PRIMARY KEY,               -- <session>:<seq>:<n>
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event TEXT NOT NULL,
  actor TEXT,
  target TEXT,
  data TEXT,                         -- JSON
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_sae_session ON session_analytics_events(session_id, seq);
CREATE INDEX IF NOT EXISTS idx_sae_event_at ON session_analytics_events(event, at);

-- Audit log: every breakout operation, admission decision and refused attempt.
CREATE TABLE IF NOT EXISTS audit_log (
  id TEXT PRIMARY KEY,
  session_id TEXT,
  actor TEXT NOT NULL,
  actor_role TEXT,
  action TEXT NOT NULL,
  target TEXT,
  result TEXT NOT NULL,              -- ok | refused:<CODE>
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_audit_session ON audit_log(session_id, at);

-- Media rooms at the provider (Twilio), one per place per round, for reconciliation and cost.
CREATE TABLE IF NOT EXISTS media_rooms (
  session_id TEXT NOT NULL,
  room_key TEXT NOT NULL,            -- "main" or breakout room id
  name TEXT NOT NULL,                -- Twilio UniqueName
  sid TEXT,
  status TEXT NOT NULL,              -- pending | ready | failed | completed
  created_at INTEGER NOT NULL,
  completed_at INTEGER,
  PRIMARY KEY (session_id, room_key)
);

-- Invites: signed tokens carry the id; revocation is a row here.
CREATE TABLE IF NOT EXISTS invites (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  created_by TEXT NOT NULL,
  role TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_invites_session ON invites(session_id);
