-- leadrelay schema v1: accounts, keys, leads, events, webhooks, deliveries.

CREATE TABLE plans (
  name                  text PRIMARY KEY,
  rate_limit_per_minute integer NOT NULL,  -- 0: unlimited
  monthly_quota         integer NOT NULL
);

INSERT INTO plans (name, rate_limit_per_minute, monthly_quota) VALUES
  ('free', 60, 50),
  ('starter', 60, 150),
  ('pro', 60, 500),
  ('enterprise', 600, 5000),
  ('internal', 0, 0);

CREATE TABLE accounts (
  id             text PRIMARY KEY,
  name           text NOT NULL,
  plan           text NOT NULL REFERENCES plans(name),
  credits        integer NOT NULL CHECK (credits >= 0),
  plan_renews_at timestamptz NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  account_id   text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name         text NOT NULL,
  prefix       text NOT NULL,
  key_hash     bytea NOT NULL UNIQUE,      -- SHA-256 of the key
  scopes       text[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at);

-- One row per key: a window that opens on its first request and lasts 60 s.
-- Unlogged: losing counters in a crash only forgives a minute.
CREATE UNLOGGED TABLE rate_limits (
  key_id       text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  count        integer NOT NULL
);

CREATE TABLE leads (
  id              text PRIMARY KEY,
  account_id      text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  external_id     text,
  vertical        text NOT NULL,
  score_tier      text NOT NULL,
  suburb          text NOT NULL DEFAULT '',
  status          text NOT NULL DEFAULT 'new',
  score           integer NOT NULL CHECK (score BETWEEN 0 AND 100),
  body            bytea NOT NULL,          -- leadrelay.v1.Lead, serialized
  delivered_at    timestamptz NOT NULL,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  converted_at    timestamptz
);
CREATE UNIQUE INDEX leads_external_id ON leads (account_id, external_id)
  WHERE external_id IS NOT NULL;
CREATE INDEX leads_account_delivered ON leads (account_id, delivered_at DESC, id);
CREATE INDEX leads_account_vertical ON leads (account_id, vertical, delivered_at DESC);

CREATE TABLE events (
  seq         bigserial PRIMARY KEY,
  id          text NOT NULL UNIQUE,
  account_id  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  type        text NOT NULL,
  body        bytea NOT NULL,              -- leadrelay.v1.Event, serialized
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_account_seq ON events (account_id, seq);

CREATE TABLE webhooks (
  id              text PRIMARY KEY,
  account_id      text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name            text NOT NULL DEFAULT '',
  url             text NOT NULL,
  events          text[] NOT NULL,
  enabled         boolean NOT NULL DEFAULT true,
  secret          text NOT NULL,
  previous_secret text,
  previous_secret_expires_at timestamptz,
  disabled_reason text NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_account ON webhooks (account_id, created_at);

CREATE TABLE deliveries (
  id              text PRIMARY KEY,
  account_id      text NOT NULL,
  webhook_id      text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_id        text NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  event_type      text NOT NULL,
  status          text NOT NULL DEFAULT 'pending',  -- pending|succeeded|failed
  test            boolean NOT NULL DEFAULT false,
  attempt_count   integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz,
  last_http_status integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, created_at DESC);
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE delivery_attempts (
  delivery_id      text NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  number           integer NOT NULL,
  attempted_at     timestamptz NOT NULL,
  duration_ms      integer NOT NULL,
  url              text NOT NULL,
  http_status      integer NOT NULL,
  response_excerpt text NOT NULL DEFAULT '',
  error            text NOT NULL DEFAULT '',
  trigger          text NOT NULL,
  PRIMARY KEY (delivery_id, number)
);

-- Microseconds since the epoch: how the server reads every timestamp.
CREATE FUNCTION lr_us(t timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (extract(epoch FROM t) * 1000000)::bigint;
