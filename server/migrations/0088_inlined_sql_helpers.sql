-- lr_us and leadrelay_contact_digest were declared IMMUTABLE around STABLE
-- built-ins (extract of a timestamptz, convert_to), which stops PostgreSQL
-- from inlining them: each call ran as a function of its own, through a
-- small executor of its own, whose plan was built again by every statement
-- that called it (every point read of a lead calls lr_us; every CreateLead
-- calls leadrelay_contact_digest twice per lead). Declared STABLE, as what
-- they call is, they are inlined into the calling statement's plan. Same
-- results; neither is used by an index.
ALTER FUNCTION lr_us(timestamptz) STABLE;
ALTER FUNCTION leadrelay_contact_digest(text, text) STABLE;
