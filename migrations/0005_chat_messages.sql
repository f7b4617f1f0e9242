-- Chat, only when the facilitator turned on "keep chat in the session record" (off by default: chat then lives only
-- in the session Durable Object, bounded, and in the browsers that received it). A deleted message keeps its row,
-- emptied, so the record shows that something was removed and when.
CREATE TABLE IF NOT EXISTS chat_messages (
  id TEXT PRIMARY KEY,               -- <session>:<message id>
  session_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  channel TEXT NOT NULL,             -- room:<place> | private:<member> | all
  kind TEXT NOT NULL,                -- message | broadcast
  from_member TEXT NOT NULL,
  text TEXT NOT NULL,
  at INTEGER NOT NULL,
  deleted_at INTEGER,
  deleted_by TEXT
);
CREATE INDEX IF NOT EXISTS idx_chat_session ON chat_messages(session_id, at);
