-- An account-wide rate limit beside the per-key one: every key of an account
-- draws on one budget, so minting keys does not multiply the account's
-- limit. 0: unlimited.
ALTER TABLE plans
  ADD COLUMN account_rate_limit_per_minute integer NOT NULL DEFAULT 0;

UPDATE plans SET account_rate_limit_per_minute = CASE name
  WHEN 'free' THEN 100
  WHEN 'starter' THEN 150
  WHEN 'pro' THEN 300
  WHEN 'enterprise' THEN 3000
  ELSE 0 END;

-- One row per account, like rate_limits per key (a 60 s window opened by its
-- first request). Unlogged: losing counters in a crash only forgives a minute.
CREATE UNLOGGED TABLE account_rate_limits (
  account_id   text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  count        integer NOT NULL
);
