-- In-app notifications (src/notifications/): one item per recipient and
-- thread, derived after the fact from the committed session_events log by
-- one notifier at a time, never by the write that caused them.
CREATE TABLE notifications (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    recipient_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id         uuid NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    group_id          uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    session_id        uuid NOT NULL REFERENCES reading_sessions (id) ON DELETE CASCADE,
    paragraph_id      uuid NOT NULL,
    reason            text NOT NULL CHECK (reason IN ('moderation', 'mention', 'reply', 'answer_accepted',
                                                      'reanchored', 'watching')),
    latest_comment_id uuid REFERENCES comments (id) ON DELETE SET NULL,
    -- The latest comment's seq: the item is unread while the recipient's
    -- thread_reads mark is below it (one read state for thread and item).
    latest_seq        bigint NOT NULL,
    new_count         integer NOT NULL DEFAULT 1,
    actor_ids         uuid[] NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (recipient_id, thread_id)
);
-- The inbox: newest activity first, keyset over (updated_at, id).
CREATE INDEX notifications_inbox_idx ON notifications (recipient_id, updated_at DESC, id DESC);

-- Exactly once: one row per recipient and event (its log position). A
-- repeated derivation inserts nothing here, so it changes no item.
CREATE TABLE notification_deliveries (
    recipient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_xid    bigint NOT NULL,
    event_id     bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (recipient_id, event_xid, event_id)
);

-- Watch levels at group, session, paragraph and thread; the most specific
-- one set wins. A paragraph is watched within one session (`in_session`);
-- for the other scopes it is the nil id.
CREATE TABLE watches (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope      text NOT NULL CHECK (scope IN ('group', 'session', 'paragraph', 'thread')),
    scope_id   uuid NOT NULL,
    in_session uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    level      text NOT NULL CHECK (level IN ('watching', 'normal', 'muted')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, scope, scope_id, in_session)
);
-- Watchers of one scope, for the notifier.
CREATE INDEX watches_scope_idx ON watches (scope, scope_id, in_session);

-- How far the notifier has derived: a position in the log. Its row lock
-- makes one notifier at a time; it moves in the transaction that writes
-- what it derived. It starts at the log's settled horizon now, so nothing
-- written before notifications existed is announced.
CREATE TABLE notifier_cursor (
    name       text PRIMARY KEY,
    xid        bigint NOT NULL,
    id         bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO notifier_cursor (name, xid, id)
    VALUES ('notifications', pg_snapshot_xmin(pg_current_snapshot())::text::bigint, 0);
