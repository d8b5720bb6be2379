-- Platform API: service identities that act for accounts, account
-- suspension, and the credit ledger.

-- Internal services. A service authenticates with a platform key (below) or
-- with a client certificate whose subject CN is its name.
CREATE TABLE platform_services (
  id          text PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);

-- Platform keys: not bound to an account; only their SHA-256 is stored.
CREATE TABLE platform_keys (
  id         text PRIMARY KEY,
  service_id text NOT NULL REFERENCES platform_services(id) ON DELETE CASCADE,
  prefix     text NOT NULL,
  key_hash   bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

-- Audit: one row per call a platform service made, and the account it acted
-- for (NULL for AccountAdminService calls). Insert-only, so concurrent calls
-- never wait for each other; written in the authentication round trip.
CREATE TABLE platform_calls (
  at         timestamptz NOT NULL DEFAULT now(),
  service_id text NOT NULL,
  account_id text,
  method     text NOT NULL
);
CREATE INDEX platform_calls_account ON platform_calls (account_id, at);

-- A suspended account's keys are refused and its webhooks pause; nothing is
-- deleted, and resuming restores everything.
ALTER TABLE accounts ADD COLUMN suspended_at timestamptz;

-- Every change to an account's credits, written in the transaction of the
-- change. Rows carry only the amount: the resulting balance is computed on
-- read (the balance after a row is the sum of the rows up to it), so
-- concurrent debits, which hit different credit buckets, never serialize on
-- a running total. The invariant: sum(amount) = sum(credit_buckets.credits).
CREATE TABLE credit_ledger (
  id              bigserial PRIMARY KEY,
  account_id      text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  at              timestamptz NOT NULL DEFAULT now(),
  amount          integer NOT NULL,
  reason          text NOT NULL,
  -- What caused it: the RPC ("leadrelay.v1.LeadService.CreateLead"), or
  -- "bootstrap" / "migration" for operator actions.
  cause           text NOT NULL,
  -- The platform service that acted, '' for an account's own key.
  service         text NOT NULL DEFAULT '',
  idempotency_key text
);
CREATE INDEX credit_ledger_account ON credit_ledger (account_id, id);
CREATE UNIQUE INDEX credit_ledger_idempotency
  ON credit_ledger (account_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

INSERT INTO credit_ledger (account_id, amount, reason, cause)
SELECT account_id, sum(credits), 'opening balance', 'migration'
FROM credit_buckets GROUP BY account_id;
