-- Lead erasure (EraseLead / EraseLeads): what finds a lead's personal data
-- quickly on a large account, and the tombstone left behind.

-- An erased lead keeps its row (ids, vertical, score, status, timestamps:
-- counts and quotas stay right) with its personal fields removed from the
-- body; lists and reads skip it.
ALTER TABLE leads ADD COLUMN erased_at timestamptz;

-- Digests of a live lead's phone and email (SHA-256 of "phone:+27..." /
-- "email:lower-cased"), for EraseLeads by phone or email without reading
-- every body. Deleted when the lead is erased.
CREATE TABLE lead_contact_keys (
  account_id text NOT NULL,
  lead_id    text NOT NULL REFERENCES leads(id) ON DELETE CASCADE
               DEFERRABLE INITIALLY DEFERRED,
  digest     bytea NOT NULL
);
CREATE INDEX lead_contact_keys_digest ON lead_contact_keys (account_id, digest);
CREATE INDEX lead_contact_keys_lead ON lead_contact_keys (lead_id);

CREATE FUNCTION leadrelay_contact_digest(kind text, value text) RETURNS bytea
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN sha256(convert_to(kind || ':' ||
                           CASE WHEN kind = 'email' THEN lower(value)
                                ELSE value END, 'UTF8'));

-- The events that carry a lead (lead.new, lead.updated), so erasure
-- rewrites their bodies without scanning the log. The event row may be
-- written later in the same transaction (CreateLead writes it last).
CREATE TABLE lead_event_refs (
  event_id text PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE
             DEFERRABLE INITIALLY DEFERRED,
  lead_id  text NOT NULL
);
CREATE INDEX lead_event_refs_lead ON lead_event_refs (lead_id);

-- The tombstone and audit record of an erasure: who asked, when, in which
-- request, and the lead.erased event. Nothing personal.
CREATE TABLE lead_erasures (
  lead_id    text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  erased_at  timestamptz NOT NULL,
  key_id     text NOT NULL,
  service    text NOT NULL DEFAULT '',
  request_id text NOT NULL
    DEFAULT coalesce(current_setting('leadrelay.request_id', true), ''),
  event_id   text NOT NULL
);
CREATE INDEX lead_erasures_account ON lead_erasures (account_id, erased_at);
