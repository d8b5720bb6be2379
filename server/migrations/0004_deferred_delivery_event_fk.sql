-- Deliveries are queued before their event row is written (the event is
-- written last, under the account's event lock, to keep that lock short);
-- the foreign key is checked at commit.
ALTER TABLE deliveries ALTER CONSTRAINT deliveries_event_id_fkey
  DEFERRABLE INITIALLY DEFERRED;
