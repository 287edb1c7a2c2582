-- Question threads, votes and accepted answers. The counters are
-- kept by src/db/replaceable/triggers.sql ("Reader features" section).
--
-- vote_count and answer_count sit on the hot threads row: neither is in any
-- index, so the updates every vote or answer makes stay HOT (fillfactor 70
-- is already set by migration 000006). `kind` is written once, at insert.
ALTER TABLE threads
    ADD COLUMN kind text NOT NULL DEFAULT 'discussion' CHECK (kind IN ('discussion', 'question')),
    -- Every stored vote; readers subtract the votes of currently banned
    -- voters (bans end by themselves, so no trigger could follow them).
    ADD COLUMN vote_count integer NOT NULL DEFAULT 0 CHECK (vote_count >= 0),
    -- Accepted answers whose comment counts (neither hidden nor deleted).
    ADD COLUMN answer_count integer NOT NULL DEFAULT 0 CHECK (answer_count >= 0);

ALTER TABLE paragraph_counts
    ADD COLUMN open_question_count integer NOT NULL DEFAULT 0 CHECK (open_question_count >= 0);

-- One vote per member and thread. The membership foreign key removes a
-- member's votes when they leave the group (and its cascade goes through the
-- counting trigger like any other delete).
CREATE TABLE thread_votes (
    thread_id  uuid NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    group_id   uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_id, user_id),
    FOREIGN KEY (group_id, user_id) REFERENCES memberships (group_id, user_id) ON DELETE CASCADE
);
-- For the cascade from memberships, and for subtracting banned voters.
CREATE INDEX thread_votes_member_idx ON thread_votes (group_id, user_id);

-- Several accepted answers per thread, each a comment of that thread.
CREATE TABLE thread_answers (
    thread_id   uuid NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    comment_id  uuid NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    accepted_by uuid NOT NULL REFERENCES users (id),
    accepted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_id, comment_id)
);
CREATE INDEX thread_answers_comment_idx ON thread_answers (comment_id);
