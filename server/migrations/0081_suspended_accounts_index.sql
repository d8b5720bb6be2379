-- The dispatcher's claim reads the suspended accounts on every claim
-- (store/deliveries_repo.cc): this keeps that read to the few suspended
-- ones however many accounts there are.
CREATE INDEX accounts_suspended ON accounts (id) WHERE suspended_at IS NOT NULL;
