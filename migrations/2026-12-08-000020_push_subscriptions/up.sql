-- Web Push (src/notifications/push/): the browsers that asked to be told,
-- and how far each notification has been pushed.
CREATE TABLE push_subscriptions (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- A push service's URL is one browser profile's: it belongs to one user
    -- at a time (subscribing it again under another account moves it).
    endpoint   text NOT NULL UNIQUE,
    -- The browser's P-256 public key (65 bytes, uncompressed) and auth secret (16 bytes).
    p256dh     bytea NOT NULL CHECK (length(p256dh) = 65),
    auth       bytea NOT NULL CHECK (length(auth) = 16),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (user_id, created_at);

-- A notification's change is pushed once: `pushed_for` is the `updated_at`
-- last pushed (or found not to need a push). While a pusher works on a row,
-- or waits to retry, `push_not_before` keeps the others off it;
-- `push_retry` names the subscriptions still owed the change (NULL: all).
ALTER TABLE notifications
    ADD COLUMN pushed_for      timestamptz,
    ADD COLUMN push_not_before timestamptz,
    ADD COLUMN push_attempts   smallint NOT NULL DEFAULT 0,
    ADD COLUMN push_retry      uuid[];
-- What is already in the inbox is not announced again.
UPDATE notifications SET pushed_for = updated_at;
-- Only rows owing a push are in it: a round finds them without a scan.
CREATE INDEX notifications_push_due_idx ON notifications (updated_at)
    WHERE pushed_for IS DISTINCT FROM updated_at;
