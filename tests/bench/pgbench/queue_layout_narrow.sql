-- A layout of the delivery queue that issue 12 left to measure: the pending
-- state (due time, lease) in a narrow table of its own, so that the
-- deliveries row keeps no index whose columns or predicate the dispatcher
-- changes and its one update per attempt can be HOT. Run by
-- run_queue_layout_bench.sh with psql variables: schema (the layout's
-- schema), fillfactor (of its deliveries) and fks (on: the queue and
-- attempt rows reference their delivery, as today's attempts do).
CREATE SCHEMA :"schema";
SET search_path = :"schema", public;
CREATE TABLE deliveries (LIKE public.deliveries INCLUDING DEFAULTS)
  WITH (fillfactor = :fillfactor);
ALTER TABLE deliveries ADD PRIMARY KEY (id);
ALTER TABLE deliveries ADD FOREIGN KEY (webhook_id)
  REFERENCES public.webhooks (id) ON DELETE CASCADE;
ALTER TABLE deliveries ADD FOREIGN KEY (event_id)
  REFERENCES public.events (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX ON deliveries (webhook_id, created_at DESC);
CREATE INDEX ON deliveries (event_id);
-- Instead of deliveries_finished and deliveries_failed, whose predicates
-- read the status: retention finds finished deliveries by their age and
-- the absence of a queue row.
CREATE INDEX ON deliveries (created_at);
CREATE TABLE queue (
  delivery_id     text PRIMARY KEY,
  account_id      text NOT NULL,
  webhook_id      text NOT NULL,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  claim_token     text
);
CREATE INDEX ON queue (next_attempt_at);
CREATE TABLE delivery_attempts (LIKE public.delivery_attempts INCLUDING ALL);
\if :fks
ALTER TABLE queue ADD FOREIGN KEY (delivery_id)
  REFERENCES deliveries (id) ON DELETE CASCADE;
ALTER TABLE delivery_attempts ADD FOREIGN KEY (delivery_id)
  REFERENCES deliveries (id) ON DELETE CASCADE;
\endif

-- The dispatcher's work on this layout, created in the layout's schema and
-- called with search_path = <schema>, public (as lr_bench_create and
-- lr_bench_drain of queue_layout_today.sql, which they mirror).
CREATE PROCEDURE lr_bench_create(n int) LANGUAGE plpgsql AS $$
BEGIN
  WITH r AS MATERIALIZED (SELECT * FROM public.lr_bench_delivery_rows(n)),
  d AS (
    INSERT INTO deliveries (id, account_id, webhook_id, event_id, event_type,
                            request_id)
    SELECT r.id, r.account_id, r.webhook_id, r.event_id, 'lead.new',
           'req_' || r.id
    FROM r)
  INSERT INTO queue (delivery_id, account_id, webhook_id)
  SELECT r.id, r.account_id, r.webhook_id FROM r;
END $$;

CREATE PROCEDURE lr_bench_drain(n int) LANGUAGE plpgsql AS $$
DECLARE
  ids text[];
  tokens text[];
  numbers int8[];
  token text := md5(random()::text);
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  PERFORM set_config('enable_sort', 'off', true);
  WITH due AS MATERIALIZED (
    SELECT q.delivery_id FROM queue q JOIN webhooks w ON w.id = q.webhook_id
    WHERE q.next_attempt_at <= now() AND w.enabled
      AND q.account_id <> ALL (ARRAY(
        SELECT id FROM accounts WHERE suspended_at IS NOT NULL))
    ORDER BY q.next_attempt_at
    LIMIT n
    FOR UPDATE OF q SKIP LOCKED),
  lease AS (
    UPDATE queue q
    SET next_attempt_at = now() + 70000 * interval '1 millisecond',
        claim_token = token
    FROM due WHERE q.delivery_id = due.delivery_id
    RETURNING q.delivery_id),
  c AS (
    SELECT d.id, d.account_id, d.webhook_id, w.url, w.secret,
      CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END,
      e.body, d.test, d.attempt_count + 1 AS number, d.next_trigger,
      w.secret_key_id, w.previous_secret_key_id, d.event_id
    FROM lease JOIN deliveries d ON d.id = lease.delivery_id
    JOIN webhooks w ON w.id = d.webhook_id
    JOIN events e ON e.id = d.event_id)
  SELECT array_agg(c.id), array_agg(token), array_agg(c.number)
  INTO ids, tokens, numbers FROM c;
  COMMIT;
  PERFORM set_config('synchronous_commit', 'off', true);
  -- 128 index probes: the planner would rather scan a 30,000-row queue.
  PERFORM set_config('enable_seqscan', 'off', true);
  WITH r AS (
    SELECT * FROM unnest(ids, tokens, numbers) AS r(id, token, number)),
  gone AS (
    DELETE FROM queue q USING r
    WHERE q.delivery_id = r.id AND q.claim_token = r.token
    RETURNING q.delivery_id),
  upd AS (
    UPDATE deliveries d SET status = 'succeeded', attempt_count = r.number,
      last_attempt_at = now(), last_http_status = 200, last_error = '',
      next_trigger = 'scheduled'
    FROM r JOIN gone ON gone.delivery_id = r.id WHERE d.id = r.id
    RETURNING d.id, d.request_id)
  INSERT INTO delivery_attempts (delivery_id, number, attempted_at,
    duration_ms, url, http_status, response_excerpt, error, trigger,
    request_id)
  SELECT r.id, r.number, now(), 3, 'http://127.0.0.1:9/hook', 200, 'ok', '',
         'scheduled', upd.request_id
  FROM r JOIN upd ON upd.id = r.id
  ON CONFLICT (delivery_id, number) DO NOTHING;
  COMMIT;
END $$;
