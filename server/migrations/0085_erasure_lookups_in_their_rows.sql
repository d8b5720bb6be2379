-- What erasure finds a lead by moves into the rows it describes: a lead's
-- phone and email digests become columns of the lead, and the lead an event
-- carries a column of the event. Migration 0070 kept them in two tables of
-- their own, which cost each CreateLead three more heap rows, six more index
-- entries and three deferred foreign-key checks; now it is three index
-- entries (leads_phone_digest, leads_email_digest, events_lead).
--
-- No backfill: rows written before (and by a replica still running the
-- previous binary during a rolling upgrade, which keeps calling migration
-- 0084's leadrelay_create_leads) stay in lead_contact_keys and
-- lead_event_refs, and erasure looks in both places. Erasure clears the
-- digests with the rest of the lead's personal data.
ALTER TABLE leads
  ADD COLUMN phone_digest bytea,
  ADD COLUMN email_digest bytea;
ALTER TABLE events ADD COLUMN lead_id text;

-- Their indexes: migration 0086.

-- Migration 0082's helper, also writing each lead's contact digests ('' is
-- no contact).
CREATE FUNCTION leadrelay_insert_leads(
    account text, picks int[], ids text[], external_ids text[],
    verticals text[], score_tiers text[], suburbs text[], statuses text[],
    scores int[], bodies bytea[], at_us int8[], phones text[],
    emails text[])
RETURNS int[]
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_variable
DECLARE
  inserted int[];
BEGIN
  WITH ins AS (
    INSERT INTO leads (id, account_id, external_id, vertical, score_tier,
                       suburb, status, score, body, delivered_at,
                       created_at, updated_at, phone_digest, email_digest)
    SELECT ids[k], account, external_ids[k], verticals[k], score_tiers[k],
           suburbs[k], statuses[k], scores[k], bodies[k],
           to_timestamp(at_us[k] / 1e6), to_timestamp(at_us[k] / 1e6),
           to_timestamp(at_us[k] / 1e6),
           CASE WHEN phones[k] <> ''
                THEN leadrelay_contact_digest('phone', phones[k]) END,
           CASE WHEN emails[k] <> ''
                THEN leadrelay_contact_digest('email', emails[k]) END
    FROM unnest(picks) AS k
    ON CONFLICT (account_id, external_id) WHERE external_id IS NOT NULL
    DO NOTHING
    RETURNING id)
  SELECT coalesce(array_agg(p.k ORDER BY p.k), '{}') INTO inserted
  FROM unnest(picks) AS p(k) JOIN ins ON ins.id = ids[p.k];
  RETURN inserted;
END
$$;

-- Migration 0084's leadrelay_create_leads, taking the leads' phones and
-- emails for their digests and writing each lead.new event's lead_id.
CREATE FUNCTION leadrelay_create_leads(
    account text, cost int, ids text[], external_ids text[],
    verticals text[], score_tiers text[], suburbs text[], statuses text[],
    scores int[], bodies bytea[], at_us int8[], event_ids text[],
    event_bodies bytea[], services text[], suburb_keys text[],
    province_keys text[], phones text[], emails text[])
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
      verticals, score_tiers, suburbs, statuses, scores, bodies, at_us,
      phones, emails);
  IF cardinality(created) > 0
     AND leadrelay_debit_credits(account, cost * cardinality(created)) >= 0
  THEN
    -- The balance does not cover them all: undo, and go lead by lead.
    DELETE FROM leads WHERE id IN (SELECT ids[k] FROM unnest(created) AS k);
    created := '{}';
    FOR i IN 1 .. n LOOP
      CONTINUE WHEN cardinality(leadrelay_insert_leads(
          account, ARRAY[i], ids, external_ids, verticals, score_tiers,
          suburbs, statuses, scores, bodies, at_us, phones,
          emails)) = 0;  -- existing
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
    INSERT INTO events (seq, id, account_id, type, body, created_at, lead_id)
    SELECT nextval('events_seq_seq'), event_ids[k], account, 'lead.new',
           event_bodies[k], to_timestamp(at_us[k] / 1e6), ids[k]
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
