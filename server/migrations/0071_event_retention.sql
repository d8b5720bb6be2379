-- Event retention: events older than the account's retention are pruned in
-- small batches (store/event_retention_repo.cc). A plan may override the
-- deployment's --event_retention; NULL keeps the deployment's, 0 keeps
-- events forever.
ALTER TABLE plans ADD COLUMN event_retention_days integer
  CHECK (event_retention_days >= 0);

-- Finds an account's oldest events without reading the rest.
CREATE INDEX events_account_created ON events (account_id, created_at);

-- How far each account's log has been pruned, so a resume from a pruned
-- position is refused (cursor_expired) rather than silently skipping.
CREATE TABLE event_retention_marks (
  account_id        text PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  -- The newest sequence number and creation time pruned.
  pruned_through    bigint NOT NULL,
  pruned_through_at timestamptz NOT NULL
);
