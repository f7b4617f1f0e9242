-- A short link per invite (/i/<code>): the code finds the invite row, and the Worker signs a fresh token for that same
-- invite (same id, same expiry), so revoking the invite stops the short link too. No token is stored.
ALTER TABLE invites ADD COLUMN short_code TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS idx_invites_short_code ON invites(short_code);
