-- An attempt's request id is its delivery's. The dispatcher's record
-- statement now takes it from the delivery row it updates anyway
-- (store/deliveries_repo.cc), so the per-row trigger of migration 0050,
-- which read the delivery again for every attempt, goes.
DROP TRIGGER delivery_attempts_request_id ON delivery_attempts;
DROP FUNCTION leadrelay_attempt_request_id();
