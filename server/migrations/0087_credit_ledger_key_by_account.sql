-- leadrelay:no-transaction
-- The ledger's primary key becomes (account_id, id), replacing both the key
-- on id alone and the (account_id, id) index: every read of the ledger is
-- by account, so the key on id only cost each paid CreateLead one more
-- index entry. The new key's index is built CONCURRENTLY (a plain build
-- would stop every CreateLead while it reads the table); swapping the
-- constraint then holds the table's lock only for a catalogue change, as
-- both columns are already NOT NULL. A run cut short starts over: a
-- half-built index is dropped first, and the swap takes whichever complete
-- index exists.
DROP INDEX CONCURRENTLY IF EXISTS credit_ledger_account_id_key;
CREATE UNIQUE INDEX CONCURRENTLY credit_ledger_account_id_key
  ON credit_ledger (account_id, id);
ALTER TABLE credit_ledger DROP CONSTRAINT credit_ledger_pkey,
  ADD CONSTRAINT credit_ledger_pkey
  PRIMARY KEY USING INDEX credit_ledger_account_id_key;
DROP INDEX CONCURRENTLY IF EXISTS credit_ledger_account;
