-- The inbox's live log (src/notifications/live.rs): what a recipient's
-- notification stream delivers, in (xid, id) order below the settled
-- horizon, like session_events. The notifier writes `notification` (one row
-- per item it created or changed, in the round's transaction); a read mark
-- that covers an item writes `notification.read` (a trigger on
-- thread_reads, src/db/replaceable/triggers.sql), in the reader's.
CREATE TABLE inbox_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid          bigint NOT NULL DEFAULT (pg_current_xact_id()::text)::bigint,
    -- No foreign key, as in session_events: an event outlives its item.
    recipient_id uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('notification', 'notification.read')),
    ids          uuid[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- One reader's replay.
CREATE INDEX inbox_events_recipient_idx ON inbox_events (recipient_id, xid, id);
-- Each instance's pump: everything after its position.
CREATE INDEX inbox_events_position_idx ON inbox_events (xid, id);
-- Retention deletes by age.
CREATE INDEX inbox_events_created_idx ON inbox_events (created_at);

-- A ticket for the inbox stream names no session.
ALTER TABLE event_tickets ALTER COLUMN session_id DROP NOT NULL;

-- Retention's mark for the inbox log: a reader resuming below it gets `resync`.
INSERT INTO event_watermarks (name, xid, id) VALUES ('inbox_pruned', 0, 0);
