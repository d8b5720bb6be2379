-- Targeted webhooks by place: an endpoint can want only leads of some
-- suburbs and/or provinces, as it can by vertical, tier and score (migration
-- 0060). Filters hold domain::PlaceKey()s (ASCII lower case, single spaces);
-- the server passes each lead's keys computed the same way, so the
-- fan-out here and the stream's filter compare the same strings. Empty
-- lists filter nothing.
ALTER TABLE webhooks
  ADD COLUMN filter_suburbs text[] NOT NULL DEFAULT '{}',
  ADD COLUMN filter_provinces text[] NOT NULL DEFAULT '{}';

-- The rule of migration 0060 with the two places added. An event without a
-- lead (vertical NULL) always passes.
CREATE FUNCTION leadrelay_lead_filter_admits(
    f_verticals text[], f_tiers text[], f_min_score int,
    f_suburbs text[], f_provinces text[],
    vertical text, tier text, score int, suburb_key text,
    province_key text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
  SELECT vertical IS NULL OR (
    (coalesce(cardinality(f_verticals), 0) = 0 OR vertical = ANY (f_verticals))
    AND (coalesce(cardinality(f_tiers), 0) = 0 OR tier = ANY (f_tiers))
    AND score >= coalesce(f_min_score, 0)
    AND (coalesce(cardinality(f_suburbs), 0) = 0
         OR suburb_key = ANY (f_suburbs))
    AND (coalesce(cardinality(f_provinces), 0) = 0
         OR province_key = ANY (f_provinces)))
$$;

-- As in migration 0082, with each lead's place keys (NULL arrays: the
-- events carry no lead).
CREATE FUNCTION leadrelay_queue_deliveries(
    account text, event_type text, event_ids text[],
    verticals text[], score_tiers text[], scores int[],
    suburb_keys text[], province_keys text[])
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_variable
DECLARE
  written bigint;
BEGIN
  INSERT INTO deliveries (id, account_id, webhook_id, event_id, event_type)
  SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''),
         w.account_id, w.id, event_ids[k], event_type
  FROM generate_subscripts(event_ids, 1) AS k
  CROSS JOIN webhooks w
  WHERE w.account_id = account AND w.enabled
    AND event_type = ANY (w.events)
    AND leadrelay_lead_filter_admits(
          w.filter_verticals, w.filter_score_tiers, w.filter_min_score,
          w.filter_suburbs, w.filter_provinces,
          verticals[k], score_tiers[k], scores[k], suburb_keys[k],
          province_keys[k]);
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written;
END
$$;

-- Migration 0060's leadrelay_create_leads, taking the leads' place keys
-- for the fan-out of lead.new.
CREATE FUNCTION leadrelay_create_leads(
    account text, cost int, ids text[], external_ids text[],
    verticals text[], score_tiers text[], suburbs text[], statuses text[],
    scores int[], bodies bytea[], at_us int8[], event_ids text[],
    event_bodies bytea[], services text[], suburb_keys text[],
    province_keys text[])
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
        ARRAY(SELECT scores[k] FROM unnest(created) k),
        ARRAY(SELECT suburb_keys[k] FROM unnest(created) k),
        ARRAY(SELECT province_keys[k] FROM unnest(created) k));
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

-- The previous signatures of the three functions stay (they are other
-- overloads): replicas still running the previous binary during a rolling
-- upgrade keep working, without place filters. A later migration drops
-- them.
