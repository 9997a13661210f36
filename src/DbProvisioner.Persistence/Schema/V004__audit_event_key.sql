-- An audit row written through a grain's outbox carries the key of the state change it records
-- (subject, state version, action), so that writing it again after a crash or a lost answer is a no-op:
-- each state change has exactly one row. Rows without a key (NULL) are not constrained.
ALTER TABLE audit ADD COLUMN IF NOT EXISTS event_key VARCHAR(255) NULL;
CREATE UNIQUE INDEX IF NOT EXISTS ux_audit_event_key ON audit (event_key);
