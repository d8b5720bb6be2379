-- The request id (X-Request-Id) of the call that created a delivery, kept on
-- the delivery and on each of its attempts. The server tags a request's
-- transaction with set_config('leadrelay.request_id', id, true); rows
-- written outside a request get NULL.
ALTER TABLE deliveries
  ADD COLUMN request_id text
    DEFAULT NULLIF(current_setting('leadrelay.request_id', true), '');

ALTER TABLE delivery_attempts ADD COLUMN request_id text;

CREATE FUNCTION leadrelay_attempt_request_id() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.request_id IS NULL THEN
    SELECT d.request_id INTO NEW.request_id
      FROM deliveries d WHERE d.id = NEW.delivery_id;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER delivery_attempts_request_id
  BEFORE INSERT ON delivery_attempts
  FOR EACH ROW EXECUTE FUNCTION leadrelay_attempt_request_id();
