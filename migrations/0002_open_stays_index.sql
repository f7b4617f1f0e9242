-- A member's open stay (left_at IS NULL) is closed on every move. With only (session_id, member_id) indexed, that
-- UPDATE visited every stay the member ever had, so moves got slower as a session went on (hundreds of rounds).
CREATE INDEX IF NOT EXISTS idx_brp_open_stay ON breakout_room_participants(session_id, member_id) WHERE left_at IS NULL;
