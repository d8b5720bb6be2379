-- Targeted webhooks: an endpoint can want only some leads, by vertical,
-- score tier and minimum score. An event that carries a lead (lead.new,
-- lead.updated) gets no delivery row for an endpoint whose filters the lead
-- does not match; other events are not filtered. Empty lists and a
-- min_score of 0 filter nothing (NULL is read the same way).
ALTER TABLE webhooks
  ADD COLUMN filter_verticals text[] NOT NULL DEFAULT '{}',
  ADD COLUMN filter_score_tiers text[] NOT NULL DEFAULT '{}',
  ADD COLUMN filter_min_score int NOT NULL DEFAULT 0;

-- Whether an endpoint with these filters takes an event about a lead with
-- this vertical, tier and score. An event without a lead (vertical NULL)
-- always passes. The same rule as domain::LeadFilter::Matches.
CREATE FUNCTION leadrelay_lead_filter_admits(
    f_verticals text[], f_tiers text[], f_min_score int,
    vertical text, tier text, score int)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
  SELECT vertical IS NULL OR (
    (coalesce(cardinality(f_verticals), 0) = 0 OR vertical = ANY (f_verticals))
    AND (coalesce(cardinality(f_tiers), 0) = 0 OR tier = ANY (f_tiers))
    AND score >= coalesce(f_min_score, 0))
$$;

-- Queues one pending delivery of event `event_ids[k]` (of type
-- `event_type`) per enabled endpoint of `account` subscribed to that type
-- whose filters admit lead k (its vertical/tier/score; NULL arrays: the
-- events carry no lead). Returns how many rows it wrote. The deliveries'
-- foreign key to their event is checked at commit, so callers may append
-- the events afterwards in the same transaction.
CREATE FUNCTION leadrelay_queue_deliveries(
    account text, event_type text, event_ids text[],
    verticals text[], score_tiers text[], scores int[])
RETURNS bigint
LANGUAGE sql VOLATILE
AS $$
  WITH d AS (
    INSERT INTO deliveries (id, account_id, webhook_id, event_id, event_type)
    SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''),
           w.account_id, w.id, event_ids[k], event_type
    FROM generate_subscripts(event_ids, 1) AS k
    CROSS JOIN webhooks w
    WHERE w.account_id = account AND w.enabled
      AND event_type = ANY (w.events)
      AND leadrelay_lead_filter_admits(
            w.filter_verticals, w.filter_score_tiers, w.filter_min_score,
            verticals[k], score_tiers[k], scores[k])
    RETURNING 1)
  SELECT count(*) FROM d
$$;

-- Inserts the leads at positions `picks` of the arrays (one element per
-- lead, as leadrelay_create_leads takes them); a lead whose external_id the
-- account already has (or that repeats one earlier in `picks`) is skipped,
-- and an insert of the same external_id still running is waited for.
-- Returns the positions inserted, in order.
CREATE FUNCTION leadrelay_insert_leads(
    account text, picks int[], ids text[], external_ids text[],
    verticals text[], score_tiers text[], suburbs text[], statuses text[],
    scores int[], bodies bytea[], at_us int8[])
RETURNS int[]
LANGUAGE sql VOLATILE
AS $$
  WITH ins AS (
    INSERT INTO leads (id, account_id, external_id, vertical, score_tier,
                       suburb, status, score, body, delivered_at,
                       created_at, updated_at)
    SELECT ids[k], account, external_ids[k], verticals[k], score_tiers[k],
           suburbs[k], statuses[k], scores[k], bodies[k],
           to_timestamp(at_us[k] / 1e6), to_timestamp(at_us[k] / 1e6),
           to_timestamp(at_us[k] / 1e6)
    FROM unnest(picks) AS k
    ON CONFLICT (account_id, external_id) WHERE external_id IS NOT NULL
    DO NOTHING
    RETURNING id)
  SELECT coalesce(array_agg(p.k ORDER BY p.k), '{}')
  FROM unnest(picks) AS p(k) JOIN ins ON ins.id = ids[p.k]
$$;

-- Same contract as in migration 0041 (one row per lead: 'created',
-- 'existing' or 'insufficient_credits'); lead.new deliveries now go only
-- to the endpoints whose filters admit the lead.
CREATE OR REPLACE FUNCTION leadrelay_create_leads(
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
  created int[];
  short bigint;
  i int;
BEGIN
  -- Every lead at once.
  created := leadrelay_insert_leads(
      account, ARRAY(SELECT generate_series(1, n)), ids, external_ids,
      verticals, score_tiers, suburbs, statuses, scores, bodies, at_us);
  IF cardinality(created) > 0
     AND leadrelay_debit_credits(account, cost * cardinality(created)) >= 0
  THEN
    -- The balance does not cover them all: undo, and go lead by lead.
    DELETE FROM leads WHERE id IN (SELECT ids[k] FROM unnest(created) AS k);
    created := '{}';
    FOR i IN 1 .. n LOOP
      CONTINUE WHEN cardinality(leadrelay_insert_leads(
          account, ARRAY[i], ids, external_ids, verticals, score_tiers,
          suburbs, statuses, scores, bodies, at_us)) = 0;  -- existing
      short := leadrelay_debit_credits(account, cost);
      IF short >= 0 THEN
        DELETE FROM leads WHERE id = ids[i];
        outcomes[i] := 'insufficient_credits';
        shortfall[i] := short;
        CONTINUE;
      END IF;
      created := created || i;
    END LOOP;
  END IF;

  IF cardinality(created) > 0 THEN
    FOREACH i IN ARRAY created LOOP
      outcomes[i] := 'created';
    END LOOP;
    PERFORM leadrelay_queue_deliveries(
        account, 'lead.new', ARRAY(SELECT event_ids[k] FROM unnest(created) k),
        ARRAY(SELECT verticals[k] FROM unnest(created) k),
        ARRAY(SELECT score_tiers[k] FROM unnest(created) k),
        ARRAY(SELECT scores[k] FROM unnest(created) k));
    -- Paid leads: a credit_ledger row each, in the debit's transaction
    -- (service: the platform service that acted, '' for an own key).
    IF cost > 0 THEN
      INSERT INTO credit_ledger (account_id, amount, reason, cause, service)
      SELECT account, -cost, 'paid call',
             'leadrelay.v1.LeadService.CreateLead', coalesce(services[k], '')
      FROM unnest(created) AS k;
    END IF;
    -- The event gate last, held shared until commit (migration 0005).
    PERFORM pg_advisory_xact_lock_shared(leadrelay_event_gate(account));
    INSERT INTO events (seq, id, account_id, type, body, created_at)
    SELECT nextval('events_seq_seq'), event_ids[k], account, 'lead.new',
           event_bodies[k], to_timestamp(at_us[k] / 1e6)
    FROM unnest(created) AS k;
  END IF;

  -- One row per lead, in order. A new statement: its snapshot sees the
  -- lead that won an external_id conflict.
  RETURN QUERY
  SELECT coalesce(outcomes[k], 'existing'),
         CASE WHEN outcomes[k] IS NULL THEN
           (SELECT l.body FROM leads l
            WHERE l.account_id = account AND l.external_id = external_ids[k])
         END,
         shortfall[k]
  FROM generate_series(1, n) AS k
  ORDER BY k;
END
$$;
