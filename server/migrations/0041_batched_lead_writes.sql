-- Batched CreateLead: one statement writes several leads of one account,
-- each with its own outcome, so concurrent CreateLeads share one commit
-- (and one fsync) and one round trip.

-- Debits `cost` credits of `account`: the one place a lead's credits are
-- taken (leadrelay_create_leads writes their credit_ledger rows). Returns
-- -1 when debited, otherwise the balance that fell short, having changed
-- nothing.
CREATE FUNCTION leadrelay_debit_credits(account text, cost int)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  available bigint;
  remaining int;
  take int;
  b record;
BEGIN
  IF cost <= 0 THEN
    RETURN -1;
  END IF;
  -- Fast path: any bucket with enough credits that nobody else holds.
  UPDATE credit_buckets c SET credits = c.credits - cost
  FROM (SELECT f.bucket FROM credit_buckets f
        WHERE f.account_id = account AND f.credits >= cost
        ORDER BY random() LIMIT 1
        FOR UPDATE SKIP LOCKED) pick
  WHERE c.account_id = account AND c.bucket = pick.bucket;
  IF FOUND THEN
    RETURN -1;
  END IF;
  -- Slow path: lock every bucket in order (no deadlock) and take the cost
  -- from as many as needed; short only when the sum is.
  SELECT coalesce(sum(s.credits), 0) INTO available
  FROM (SELECT f.credits FROM credit_buckets f WHERE f.account_id = account
        ORDER BY f.bucket FOR UPDATE) s;
  IF available < cost THEN
    RETURN available;
  END IF;
  remaining := cost;
  FOR b IN SELECT f.bucket, f.credits FROM credit_buckets f
           WHERE f.account_id = account ORDER BY f.bucket LOOP
    EXIT WHEN remaining = 0;
    take := least(remaining, b.credits);
    CONTINUE WHEN take = 0;
    UPDATE credit_buckets SET credits = credits - take
    WHERE account_id = account AND bucket = b.bucket;
    remaining := remaining - take;
  END LOOP;
  RETURN -1;
END
$$;

-- Stores new leads of `account` (arrays: one element per lead, ids and
-- bodies prepared by the server) and returns one row per lead, in order:
--   'created'              the lead, its credit debit, its lead.new event
--                          and its pending deliveries were written;
--   'existing'             the account already has a lead with this
--                          external_id (r_body: that lead); nothing written
--                          or charged;
--   'insufficient_credits' nothing written; r_available is the balance.
-- Set-based when the balance covers the whole batch (a handful of
-- statements per batch, not per lead); lead by lead otherwise. The event
-- gate is taken last, once, just before the events are appended, so
-- readers of the account wait only for that insert and the commit.
CREATE FUNCTION leadrelay_create_leads(
    account text, cost int, ids text[], external_ids text[],
    verticals text[], score_tiers text[], suburbs text[], statuses text[],
    scores int[], bodies bytea[], at_us int8[], event_ids text[],
    event_bodies bytea[], services text[])
RETURNS TABLE (r_outcome text, r_body bytea, r_available bigint)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  n int := cardinality(ids);
  outcomes text[] := array_fill(NULL::text, ARRAY[n]);
  shortfall int8[] := array_fill(NULL::int8, ARRAY[n]);
  inserted text[];
  created int[] := '{}';
  short bigint;
  i int;
BEGIN
  -- Every lead at once. A lead whose external_id the account already has
  -- (or that repeats one earlier in the batch) is not inserted; an insert
  -- of the same external_id still running is waited for.
  WITH ins AS (
    INSERT INTO leads (id, account_id, external_id, vertical, score_tier,
                       suburb, status, score, body, delivered_at,
                       created_at, updated_at)
    SELECT ids[k], account, external_ids[k], verticals[k], score_tiers[k],
           suburbs[k], statuses[k], scores[k], bodies[k],
           to_timestamp(at_us[k] / 1e6), to_timestamp(at_us[k] / 1e6),
           to_timestamp(at_us[k] / 1e6)
    FROM generate_series(1, n) AS k
    ON CONFLICT (account_id, external_id) WHERE external_id IS NOT NULL
    DO NOTHING
    RETURNING id)
  SELECT coalesce(array_agg(ins.id), '{}') INTO inserted FROM ins;

  IF cardinality(inserted) > 0
     AND leadrelay_debit_credits(account, cost * cardinality(inserted)) >= 0
  THEN
    -- The balance does not cover them all: undo, and go lead by lead.
    DELETE FROM leads WHERE id = ANY (inserted);
    FOR i IN 1 .. n LOOP
      INSERT INTO leads (id, account_id, external_id, vertical, score_tier,
                         suburb, status, score, body, delivered_at,
                         created_at, updated_at)
      VALUES (ids[i], account, external_ids[i], verticals[i], score_tiers[i],
              suburbs[i], statuses[i], scores[i], bodies[i],
              to_timestamp(at_us[i] / 1e6), to_timestamp(at_us[i] / 1e6),
              to_timestamp(at_us[i] / 1e6))
      ON CONFLICT (account_id, external_id) WHERE external_id IS NOT NULL
      DO NOTHING;
      CONTINUE WHEN NOT FOUND;  -- existing: answered below
      short := leadrelay_debit_credits(account, cost);
      IF short >= 0 THEN
        DELETE FROM leads WHERE id = ids[i];
        outcomes[i] := 'insufficient_credits';
        shortfall[i] := short;
        CONTINUE;
      END IF;
      outcomes[i] := 'created';
      created := created || i;
    END LOOP;
  ELSE
    FOR i IN 1 .. n LOOP
      IF ids[i] = ANY (inserted) THEN
        outcomes[i] := 'created';
        created := created || i;
      END IF;
    END LOOP;
  END IF;

  IF cardinality(created) > 0 THEN
    -- Their foreign key to the event is checked at commit.
    INSERT INTO deliveries (id, account_id, webhook_id, event_id, event_type)
    SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''),
           w.account_id, w.id, event_ids[c.k], 'lead.new'
    FROM unnest(created) AS c(k)
    CROSS JOIN webhooks w
    WHERE w.account_id = account AND w.enabled
      AND 'lead.new' = ANY (w.events);
    -- One credit_ledger row per paid lead, in the debit's transaction
    -- (service: the platform service that acted, '' for an own key).
    INSERT INTO credit_ledger (account_id, amount, reason, cause, service)
    SELECT account, -cost, 'paid call', 'leadrelay.v1.LeadService.CreateLead',
           coalesce(services[c.k], '')
    FROM unnest(created) AS c(k)
    WHERE cost > 0;
    PERFORM pg_advisory_xact_lock_shared(leadrelay_event_gate(account));
    INSERT INTO events (seq, id, account_id, type, body, created_at)
    SELECT nextval('events_seq_seq'), event_ids[c.k], account, 'lead.new',
           event_bodies[c.k], to_timestamp(at_us[c.k] / 1e6)
    FROM unnest(created) AS c(k);
  END IF;

  FOR i IN 1 .. n LOOP
    r_outcome := coalesce(outcomes[i], 'existing');
    r_available := shortfall[i];
    r_body := NULL;
    IF outcomes[i] IS NULL THEN
      -- A new statement: its snapshot sees the lead that won the conflict.
      SELECT l.body INTO r_body FROM leads l
      WHERE l.account_id = account AND l.external_id = external_ids[i];
    END IF;
    RETURN NEXT;
  END LOOP;
END
$$;
