-- Who a comment names and will be told (src/notifications/mentions.rs):
-- decided when the comment is written (a mention past its author's budget,
-- or of someone who cannot read the group, is not here), read by the
-- notifier from the committed comment.
CREATE TABLE comment_mentions (
    comment_id uuid NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (comment_id, user_id)
);
CREATE INDEX comment_mentions_user_idx ON comment_mentions (user_id);

-- A user's blocks, private to them: the blocked user's replies and mentions
-- tell the blocker nothing.
CREATE TABLE blocks (
    blocker_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
-- "Blocked by whom", for the notifier.
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id);
