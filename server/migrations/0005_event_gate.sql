-- The event gate of an account keeps its sequence order safe to read
-- without making its publishers wait for each other. Transactions that
-- append events hold the account's gate in shared mode from before they
-- take a sequence number until they end; readers take it exclusively just
-- while their snapshot is taken. So when a reader looks, no sequence number
-- of the account is held by a running transaction: every number below what
-- it sees has committed or is gone, and a cursor never skips a late commit.
-- Publishers of one account commit together (group commit); a reader waits
-- only for the publishers of its own account already running, and gives up
-- after lock_timeout (a transaction left open must not stall the account:
-- queued behind a waiting reader, its publishers would wait too).
CREATE FUNCTION leadrelay_event_gate(account text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashtextextended('events/' || account, 0) $$;

-- Events of `account` after `after_seq`, in log order. VOLATILE: the query
-- takes its snapshot after the gate is held.
CREATE FUNCTION leadrelay_read_events(account text, after_seq bigint,
                                      types text[], max_rows int)
RETURNS TABLE (seq bigint, body bytea)
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
  PERFORM set_config('lock_timeout', '2s', true);
  PERFORM pg_advisory_xact_lock(leadrelay_event_gate(account));
  RETURN QUERY
    SELECT e.seq, e.body FROM events e
    WHERE e.account_id = account AND e.seq > after_seq
      AND (cardinality(types) = 0 OR e.type = ANY (types))
    ORDER BY e.seq
    LIMIT max_rows;
END
$$;

-- The newest event of `account` (0 when none), and the position just before
-- its first event created at or after `since` (the newest when none).
CREATE FUNCTION leadrelay_event_positions(account text, since timestamptz,
                                          OUT latest bigint, OUT at_time bigint)
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
  PERFORM set_config('lock_timeout', '2s', true);
  PERFORM pg_advisory_xact_lock(leadrelay_event_gate(account));
  SELECT coalesce(max(e.seq), 0) INTO latest
  FROM events e WHERE e.account_id = account;
  SELECT coalesce(min(e.seq) - 1, latest) INTO at_time
  FROM events e WHERE e.account_id = account AND e.created_at >= since;
END
$$;
