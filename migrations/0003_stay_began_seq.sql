-- The event number at which a stay began. Closing a member's open stay only closes stays that began at an earlier
-- event: when the outbox re-sends a batch whose response was lost, an old event's "close the open stay" must not close
-- the stay a later event opened (same millisecond included, so time cannot tell them apart). NULL: rows written before
-- this column existed, which count as older than any event.
ALTER TABLE breakout_room_participants ADD COLUMN began_seq INTEGER;
