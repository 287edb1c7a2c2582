-- Idempotency keys of creating POSTs (src/idempotency.rs). A row is written
-- in the same transaction as the thing it created, with the response to
-- replay, so a crash leaves both or neither. Kept 24 hours.
CREATE TABLE idempotency_keys (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    status       smallint NOT NULL,
    location     text,
    body         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
