-- Dispatcher state: claims with a lease, the trigger of the next attempt,
-- the last error, and how long an endpoint has been failing.
ALTER TABLE deliveries
  ADD COLUMN claim_token  text,
  ADD COLUMN next_trigger text NOT NULL DEFAULT 'scheduled',
  ADD COLUMN last_error   text NOT NULL DEFAULT '';

ALTER TABLE webhooks
  ADD COLUMN failing_since timestamptz;

CREATE INDEX deliveries_failed ON deliveries (webhook_id, created_at)
  WHERE status = 'failed';
CREATE INDEX deliveries_finished ON deliveries (created_at)
  WHERE status <> 'pending';
CREATE INDEX delivery_attempts_time ON delivery_attempts (attempted_at);
