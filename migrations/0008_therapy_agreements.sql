-- Group therapy (issue 15): the group agreement clients accept at the door.

-- One row per acceptance: who (member), when, and the SHA-256 of the exact text they accepted. A member who joins
-- again accepts again (a new row). Written by the session's outbox with a deterministic id, so retries are idempotent.
CREATE TABLE IF NOT EXISTS agreement_acceptances (
  id TEXT PRIMARY KEY,               -- <session>:<member>:<event number>
  session_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  text_hash TEXT NOT NULL,           -- SHA-256 (hex) of the agreement text, UTF-8
  accepted_at INTEGER NOT NULL       -- epoch ms
);
CREATE INDEX IF NOT EXISTS idx_agreement_acceptances_session ON agreement_acceptances(session_id, accepted_at);

-- Each agreement text a session asked clients to accept, by its hash (the record shows what each hash said).
CREATE TABLE IF NOT EXISTS agreement_texts (
  session_id TEXT NOT NULL,
  text_hash TEXT NOT NULL,
  text TEXT NOT NULL,
  first_accepted_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, text_hash)
);

-- Declining the agreement leaves nothing but this count.
ALTER TABLE sessions ADD COLUMN agreement_declines INTEGER NOT NULL DEFAULT 0;
