-- Leads and lead events written before migration 0070 get their erasure
-- lookups too (contact digests, event links), read from the stored protobuf
-- bodies, so erasure by phone or email finds them and rewrites their events.

-- The varint at byte `pos` of `msg`: its value and the position after it
-- (NULLs when `msg` ends first or the varint is too long).
CREATE FUNCTION leadrelay_pb_varint(msg bytea, pos int,
                                    OUT value bigint, OUT next int)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  shift int := 0;
  b int;
BEGIN
  value := 0;
  next := pos;
  LOOP
    IF next >= length(msg) OR shift > 63 THEN
      value := NULL;
      next := NULL;
      RETURN;
    END IF;
    b := get_byte(msg, next);
    next := next + 1;
    value := value | ((b & 127)::bigint << shift);
    shift := shift + 7;
    EXIT WHEN b < 128;
  END LOOP;
END
$$;

-- The first length-delimited field number `field` of the protobuf message
-- `msg` (NULL when absent or when the bytes are not a message). Enough of
-- the wire format to walk leadrelay's messages: varint, 64-bit,
-- length-delimited and 32-bit fields.
CREATE FUNCTION leadrelay_pb_field(msg bytea, field int) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  pos int := 0;
  tag bigint;
  len bigint;
BEGIN
  WHILE pos < length(msg) LOOP
    SELECT v.value, v.next INTO tag, pos FROM leadrelay_pb_varint(msg, pos) v;
    IF pos IS NULL THEN RETURN NULL; END IF;
    CASE tag & 7
      WHEN 0 THEN
        SELECT v.next INTO pos FROM leadrelay_pb_varint(msg, pos) v;
      WHEN 1 THEN
        pos := pos + 8;
      WHEN 5 THEN
        pos := pos + 4;
      WHEN 2 THEN
        SELECT v.value, v.next INTO len, pos
        FROM leadrelay_pb_varint(msg, pos) v;
        IF pos IS NULL OR len > length(msg) - pos THEN RETURN NULL; END IF;
        IF tag >> 3 = field THEN
          RETURN substring(msg FROM pos + 1 FOR len::int);
        END IF;
        pos := pos + len::int;
      ELSE
        RETURN NULL;
    END CASE;
    IF pos IS NULL THEN RETURN NULL; END IF;
  END LOOP;
  RETURN NULL;
END
$$;

-- Lead: phone = 11, email = 12.
INSERT INTO lead_contact_keys (account_id, lead_id, digest)
SELECT l.account_id, l.id, leadrelay_contact_digest(c.kind, c.value)
FROM leads l
CROSS JOIN LATERAL (VALUES
  ('phone', convert_from(leadrelay_pb_field(l.body, 11), 'UTF8')),
  ('email', convert_from(leadrelay_pb_field(l.body, 12), 'UTF8'))) c(kind, value)
WHERE l.erased_at IS NULL AND coalesce(c.value, '') <> ''
  AND NOT EXISTS (SELECT 1 FROM lead_contact_keys k WHERE k.lead_id = l.id);

-- Event: lead = 10 (LeadEventData), its lead = 1, the lead's id = 1.
INSERT INTO lead_event_refs (event_id, lead_id)
SELECT e.id, r.lead_id
FROM events e
CROSS JOIN LATERAL (SELECT convert_from(leadrelay_pb_field(leadrelay_pb_field(
  leadrelay_pb_field(e.body, 10), 1), 1), 'UTF8') AS lead_id) r
WHERE e.type IN ('lead.new', 'lead.updated') AND r.lead_id IS NOT NULL
ON CONFLICT (event_id) DO NOTHING;
