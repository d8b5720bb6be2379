-- leadrelay:no-transaction
-- The indexes of migration 0085's columns, built CONCURRENTLY: the columns
-- are new, so the indexes start empty, but building one still reads the
-- whole table, and a plain CREATE INDEX would stop every CreateLead and
-- PublishEvent of a large deployment meanwhile. A build cut short leaves
-- an invalid index behind: each is dropped first, so the next start builds
-- it again.
DROP INDEX CONCURRENTLY IF EXISTS leads_phone_digest;
CREATE INDEX CONCURRENTLY leads_phone_digest
  ON leads (account_id, phone_digest) WHERE phone_digest IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS leads_email_digest;
CREATE INDEX CONCURRENTLY leads_email_digest
  ON leads (account_id, email_digest) WHERE email_digest IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS events_lead;
CREATE INDEX CONCURRENTLY events_lead
  ON events (lead_id) WHERE lead_id IS NOT NULL;
