-- leadrelay_debit_credits (0041) picked its bucket in a FROM subquery. When
-- the planner put that subquery on the inner side of a nested loop (stale
-- statistics on credit_buckets, as after an account is created), it ran
-- once per bucket of the account and could debit two buckets for one call:
-- a lead charged twice. The pick is now a scalar subquery, which PostgreSQL
-- evaluates exactly once (an InitPlan) whatever the join order.
CREATE OR REPLACE FUNCTION leadrelay_debit_credits(account text, cost int)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  available bigint;
  remaining int;
  take int;
  b record;
BEGIN
  IF cost <= 0 THEN
    RETURN -1;
  END IF;
  -- Fast path: any bucket with enough credits that nobody else holds.
  UPDATE credit_buckets SET credits = credits - cost
  WHERE account_id = account
    AND bucket = (SELECT f.bucket FROM credit_buckets f
                  WHERE f.account_id = account AND f.credits >= cost
                  ORDER BY random() LIMIT 1
                  FOR UPDATE SKIP LOCKED);
  IF FOUND THEN
    RETURN -1;
  END IF;
  -- Slow path: lock every bucket in order (no deadlock) and take the cost
  -- from as many as needed; short only when the sum is.
  SELECT coalesce(sum(s.credits), 0) INTO available
  FROM (SELECT f.credits FROM credit_buckets f WHERE f.account_id = account
        ORDER BY f.bucket FOR UPDATE) s;
  IF available < cost THEN
    RETURN available;
  END IF;
  remaining := cost;
  FOR b IN SELECT f.bucket, f.credits FROM credit_buckets f
           WHERE f.account_id = account ORDER BY f.bucket LOOP
    EXIT WHEN remaining = 0;
    take := least(remaining, b.credits);
    CONTINUE WHEN take = 0;
    UPDATE credit_buckets SET credits = credits - take
    WHERE account_id = account AND bucket = b.bucket;
    remaining := remaining - take;
  END LOOP;
  RETURN -1;
END
$$;
