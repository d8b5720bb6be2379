-- An account's credits live in several buckets, so concurrent paid calls of
-- one account debit different rows instead of queueing on a single one.
-- The balance is their sum.
CREATE TABLE credit_buckets (
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  bucket     integer NOT NULL,
  credits    integer NOT NULL CHECK (credits >= 0),
  PRIMARY KEY (account_id, bucket)
);

INSERT INTO credit_buckets (account_id, bucket, credits)
SELECT id, 0, credits FROM accounts;

ALTER TABLE accounts DROP COLUMN credits;
