-- GetMe's queries: the account with its plan and balance, and the key.
-- Run with -M prepared -D account=<account id> -D key=<api key id>.
SELECT a.id, a.name, a.plan,
       (SELECT coalesce(sum(credits), 0) FROM credit_buckets c
        WHERE c.account_id = a.id),
       p.rate_limit_per_minute, p.monthly_quota, lr_us(a.plan_renews_at),
       lr_us(a.created_at)
FROM accounts a JOIN plans p ON p.name = a.plan WHERE a.id = :account;
SELECT id, name, prefix, scopes, lr_us(created_at), lr_us(last_used_at),
       lr_us(revoked_at)
FROM api_keys WHERE account_id = :account AND id = :key;
