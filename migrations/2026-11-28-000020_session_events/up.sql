-- Live session events (src/events/): a durable log written by triggers in
-- the writer's own transaction (src/db/replaceable/triggers.sql, section
-- "LIVE SESSION EVENTS"), read by (xid, id) below the settled horizon.
CREATE TABLE session_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing transaction's id (epoch-extended, so it never wraps):
    -- events are delivered in (xid, id) order, and only below
    -- pg_snapshot_xmin(pg_current_snapshot()), so a transaction that commits
    -- late is delivered late, never skipped.
    xid            bigint NOT NULL DEFAULT (pg_current_xact_id()::text)::bigint,
    -- No foreign keys: an event outlives what it talks about (like the
    -- modlog), and a key check per comment would cost every write a lock.
    session_id     uuid NOT NULL,
    kind           text NOT NULL CHECK (kind IN (
                     'thread.created', 'thread.updated', 'thread.removed', 'thread.restored',
                     'comment.created', 'comment.updated', 'session.updated', 'essay.revised',
                     'access.changed')),
    paragraph_id   uuid,
    thread_id      uuid,
    comment_id     uuid,
    -- access.changed: whose access to check again (NULL: everyone's).
    target_user_id uuid,
    -- Whatever a kind needs beyond the ids (essay.revised: essay_id, revision;
    -- a thread moved between paragraphs: old_paragraph_id).
    detail         jsonb,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_events_cursor_idx ON session_events (session_id, xid, id);
-- The notifier's tail over every session (src/events/notify.rs).
CREATE INDEX session_events_tail_idx ON session_events (xid, id);
-- Retention finds old rows by age; BRIN costs next to nothing on an
-- append-only table.
CREATE INDEX session_events_age_idx ON session_events USING brin (created_at);

-- The highest (xid, id) retention has deleted: a cursor at or below it may
-- have missed events and gets `resync`.
CREATE TABLE event_watermarks (
    name       text PRIMARY KEY,
    xid        bigint NOT NULL,
    id         bigint NOT NULL,
    -- When retention last moved it.
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO event_watermarks (name, xid, id) VALUES ('pruned', 0, 0);

-- Tickets for browsers' EventSource, which cannot send Authorization: a
-- ticket stands for the user on one session's events route only, until it
-- expires or the user's tokens are revoked (token_version).
CREATE TABLE event_tickets (
    token_hash    bytea PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id    uuid NOT NULL REFERENCES reading_sessions (id) ON DELETE CASCADE,
    token_version integer NOT NULL,
    expires_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_tickets_expiry_idx ON event_tickets (expires_at);
