-- create_lead.sql without the NOTIFY (what one transaction per lead costs
-- when commits can be grouped). Run like create_lead.sql.
\set n random(1, 9223372036854775806)
BEGIN;
INSERT INTO leads (id, account_id, external_id, vertical, score_tier,
                   suburb, status, score, body, delivered_at,
                   created_at, updated_at)
VALUES ('lead_' || replace(gen_random_uuid()::text, '-', ''), :account,
        'pgb-' || gen_random_uuid()::text, 'solar', 'hot', 'Sandton', 'new',
        87, convert_to(repeat('x', 220), 'UTF8'), now(), now(), now())
ON CONFLICT (account_id, external_id) WHERE external_id IS NOT NULL
DO NOTHING
RETURNING 1;
WITH b AS (
  SELECT bucket FROM credit_buckets
  WHERE account_id = :account AND credits >= 1
  ORDER BY random() LIMIT 1
  FOR UPDATE SKIP LOCKED)
UPDATE credit_buckets c SET credits = c.credits - 1
FROM b WHERE c.account_id = :account AND c.bucket = b.bucket
RETURNING 1;
WITH d AS (
  INSERT INTO deliveries (id, account_id, webhook_id, event_id, event_type)
  SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''),
         w.account_id, w.id, 'evt_pgb' || :n, 'lead.new'
  FROM webhooks w
  WHERE w.account_id = :account AND w.enabled AND 'lead.new' = ANY (w.events)
  RETURNING 1),
l AS (
  SELECT pg_advisory_xact_lock_shared(leadrelay_event_gate(:account))),
e AS (
  INSERT INTO events (seq, id, account_id, type, body, created_at)
  SELECT nextval('events_seq_seq'), 'evt_pgb' || :n, :account,
         'lead.new', convert_to(repeat('y', 260), 'UTF8'), now()
  FROM l
  RETURNING seq)
SELECT e.seq, (SELECT count(*) FROM d), 0
FROM e;
COMMIT;
