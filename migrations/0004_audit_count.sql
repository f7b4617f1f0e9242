-- Refused commands are audited once per member, command, refusal code and minute, with how many there were
-- (a flood of refusals writes one row, not one per attempt).
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
