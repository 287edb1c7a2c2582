CREATE TABLE notification_deliveries (
    recipient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_xid    bigint NOT NULL,
    event_id     bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (recipient_id, event_xid, event_id)
);
ALTER TABLE notifications
    DROP COLUMN comments_xid, DROP COLUMN comments_id, DROP COLUMN changes_xid, DROP COLUMN changes_id;
