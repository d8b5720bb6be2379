-- Cursors follow commit order, not only sequence order: an event is read
-- only once every transaction older than the reader's snapshot has ended,
-- ordered by (xid, seq), so a transaction that commits late is never skipped.
ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_account_xid_seq ON events (account_id, xid, seq);
DROP INDEX events_account_seq;
