-- Secrets stored under another MAILPROXY_ENCRYPTION_KEY (docs/operations.md, "Rotating keys").
-- An account whose password this deployment cannot decrypt is flagged by the dispatcher (its
-- messages end in error saying so); saving the account again clears the flag.
ALTER TABLE accounts ADD COLUMN secret_error text;
CREATE INDEX accounts_secret_error_idx ON accounts (tenant_id, id) WHERE secret_error IS NOT NULL;
-- A value sealed with the deployment's key when its API first started: each API execution
-- environment reads it back once, so a deployment started with the wrong key says so at once.
CREATE TABLE key_check (
    id          integer PRIMARY KEY CHECK (id = 1),
    sealed      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
