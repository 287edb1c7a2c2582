-- The organiser's view: session briefings, calendar feeds, and what a
-- calendar needs to know of a session's changes.

-- Bumped whenever a session's times change, so calendar clients replace
-- the event they hold (RFC 5545 SEQUENCE).
ALTER TABLE reading_sessions ADD COLUMN calendar_sequence integer NOT NULL DEFAULT 0;

-- Briefings mailed: one row per (session, organiser), inserted in the
-- transaction that sends the mail, so whichever instance gets there first
-- sends it and no other does.
CREATE TABLE session_briefings (
    session_id uuid NOT NULL REFERENCES reading_sessions (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sent_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX session_briefings_user_idx ON session_briefings (user_id);
-- The briefing round looks sessions up by start.
CREATE INDEX reading_sessions_starts_at_idx ON reading_sessions (starts_at);

-- Whether an organiser gets session briefings (one-click unsubscribe clears it).
ALTER TABLE notification_settings ADD COLUMN briefing boolean NOT NULL DEFAULT true;

-- A user's calendar feed: only the SHA-256 of its secret is kept. It works
-- while the user's token_version is the one it was made under (logging out
-- everywhere, a password change and account deletion end it), and a new
-- one replaces it.
CREATE TABLE calendar_feeds (
    user_id       uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL UNIQUE,
    token_version integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
