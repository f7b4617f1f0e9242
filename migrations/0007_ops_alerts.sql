-- Operations (worker/alerts, docs/operations.md): alert incidents and the Worker's server-error counts.

-- One row per incident: opened when a rule starts firing, resolved when it clears. The partial unique index allows one
-- open incident per rule, so two overlapping cron runs cannot open (and announce) the same incident twice.
CREATE TABLE IF NOT EXISTS ops_incidents (
  id TEXT PRIMARY KEY,               -- <rule>:<opened_at>
  rule TEXT NOT NULL,                -- rule id (worker/alerts/rules.ts)
  severity TEXT NOT NULL,            -- warning | critical
  summary TEXT NOT NULL,             -- last evaluation's one-line summary (no personal data)
  details TEXT NOT NULL,             -- JSON: value, threshold, codes, session ids…
  value REAL NOT NULL,
  threshold REAL NOT NULL,
  opened_at INTEGER NOT NULL,        -- epoch ms
  last_seen_at INTEGER NOT NULL,     -- last evaluation that found it firing
  resolved_at INTEGER,
  notified_at INTEGER,               -- the "firing" webhook post was accepted
  resolved_notified_at INTEGER       -- the "resolved" webhook post was accepted
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_ops_incidents_open ON ops_incidents(rule) WHERE resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_ops_incidents_opened ON ops_incidents(opened_at);

-- Server errors (HTTP 5xx answered by the Worker) per whole minute, for the error-rate rule.
CREATE TABLE IF NOT EXISTS ops_error_counts (
  minute INTEGER NOT NULL,           -- epoch ms of the minute's start
  source TEXT NOT NULL,              -- "http"
  n INTEGER NOT NULL,
  PRIMARY KEY (minute, source)
);

-- Small operational facts, e.g. when the alert rules last ran (the monitoring page shows it).
CREATE TABLE IF NOT EXISTS ops_state (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
);
