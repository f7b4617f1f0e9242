-- Session plans (issue 15 item 6): a facilitator's saved, ordered steps for a recurring group (worker/routes/plans.ts).
-- Only the owner reads, changes or starts a plan. `steps` is the JSON array lib/protocol.ts PlanStepSchema validates.
CREATE TABLE IF NOT EXISTS session_plans (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,               -- identity of the facilitator: "user:<IdP subject>"
  name TEXT NOT NULL,
  steps TEXT NOT NULL,               -- JSON
  created_at INTEGER NOT NULL,       -- epoch ms
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_session_plans_owner ON session_plans(owner, updated_at);
