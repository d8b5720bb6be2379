-- Webhook secrets encrypted at rest. `secret` and `previous_secret` hold
-- base64 of AES-256-GCM ciphertext (nonce || ciphertext || tag) once their
-- key-id column is set; a NULL key id marks a row written before this
-- migration, still in plaintext: the server encrypts those at start-up
-- (the key lives outside the database, so SQL cannot).
ALTER TABLE webhooks
  ADD COLUMN secret_key_id text,
  ADD COLUMN previous_secret_key_id text,
  -- What the API shows of the secret: "whsec_" and 4 characters of a
  -- generated one, nothing of one the user chose.
  ADD COLUMN secret_hint text NOT NULL DEFAULT '(custom)';

-- Rows from before: only a secret of the generated shape gets a hint.
UPDATE webhooks SET secret_hint = left(secret, 10)
WHERE secret ~ '^whsec_[A-Za-z0-9+/]{32}$';
