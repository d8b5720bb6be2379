-- Today's delivery queue, as the dispatcher works it (store/deliveries_repo.cc:
-- ClaimDueDeliveries, RecordAttempts), for run_queue_layout_bench.sh: the
-- same statements on the same tables, without the server, so that only
-- PostgreSQL's share is measured. Created in public; the other layout
-- (queue_layout_narrow.sql) names its procedures the same in its schema.

-- n new deliveries, each of a random one of 5,000 events to one of the 12
-- webhooks of the one account.
CREATE FUNCTION lr_bench_delivery_rows(n int)
RETURNS TABLE (id text, account_id text, webhook_id text, event_id text)
LANGUAGE sql AS $$
  SELECT 'dlv_' || md5(random()::text || clock_timestamp()::text || g),
         (SELECT a.id FROM accounts a LIMIT 1),
         (SELECT w.id FROM webhooks w ORDER BY w.id OFFSET g % 12 LIMIT 1),
         'evt_' || (1 + floor(random() * 5000))::int
  FROM generate_series(1, n) g $$;

-- What CreateLead's batch writes per delivery (leadrelay_queue_deliveries).
CREATE PROCEDURE lr_bench_create(n int) LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO deliveries (id, account_id, webhook_id, event_id, event_type,
                          request_id)
  SELECT r.id, r.account_id, r.webhook_id, r.event_id, 'lead.new',
         'req_' || r.id
  FROM lr_bench_delivery_rows(n) r;
END $$;

-- The dispatcher's two transactions for n deliveries: the claim (row lock
-- and lease), then the record of a first attempt that succeeded.
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
    SELECT d.id FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.enabled
      AND d.account_id <> ALL (ARRAY(
        SELECT id FROM accounts WHERE suspended_at IS NOT NULL))
    ORDER BY d.next_attempt_at
    LIMIT n
    FOR UPDATE OF d SKIP LOCKED),
  c AS (
    UPDATE deliveries d
    SET next_attempt_at = now() + 70000 * interval '1 millisecond',
        claim_token = token
    FROM due, webhooks w, events e
    WHERE d.id = due.id AND w.id = d.webhook_id AND e.id = d.event_id
    RETURNING d.id, d.account_id, d.webhook_id, w.url, w.secret,
      CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END,
      e.body, d.test, d.attempt_count + 1 AS number, d.next_trigger,
      w.secret_key_id, w.previous_secret_key_id, d.event_id)
  SELECT array_agg(c.id), array_agg(token), array_agg(c.number)
  INTO ids, tokens, numbers FROM c;
  COMMIT;
  PERFORM set_config('synchronous_commit', 'off', true);
  -- As the narrow layout's record (which needs it), so both plan alike.
  PERFORM set_config('enable_seqscan', 'off', true);
  WITH r AS (
    SELECT * FROM unnest(ids, tokens, numbers) AS r(id, token, number)),
  upd AS (
    UPDATE deliveries d SET status = 'succeeded', attempt_count = r.number,
      last_attempt_at = now(), last_http_status = 200, last_error = '',
      claim_token = NULL, next_trigger = 'scheduled'
    FROM r WHERE d.id = r.id AND d.claim_token = r.token
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
