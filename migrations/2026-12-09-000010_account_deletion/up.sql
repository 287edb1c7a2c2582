-- Accounts their owners deleted (src/users/deletion.rs). The row of a
-- deleted user stays, under a pseudonym, so the discussion around them keeps
-- its authors, parents and moderation log; `erased` says their words went too.
ALTER TABLE users
    ADD COLUMN deleted_at timestamptz,
    ADD COLUMN erased boolean NOT NULL DEFAULT false;

-- What is left to do after the 202, one row per deleted account: worked in
-- bounded batches by whichever instance holds the row's lock
-- (src/users/deletion/job.rs). `old_username` lets others' mentions be
-- rewritten (`mentions_after`: how far through the comments naming it) and
-- is cleared when the job is done.
CREATE TABLE account_deletions (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    content      text NOT NULL CHECK (content IN ('erase', 'keep')),
    old_username text,
    mentions_after uuid,
    requested_at timestamptz NOT NULL DEFAULT now(),
    done_at      timestamptz
);
CREATE INDEX account_deletions_due_idx ON account_deletions (requested_at) WHERE done_at IS NULL;

-- The address of a deleted account whose owner was banned somewhere, as a
-- SHA-256 of its lower case: refused at registration while any of that
-- user's bans is live, so deleting an account does not lift a ban.
CREATE TABLE refused_addresses (
    email_hash bytea NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (email_hash, user_id)
);

-- An erased comment keeps its row with no words: an empty body, deleted.
ALTER TABLE comments
    DROP CONSTRAINT comments_body_check,
    ADD CONSTRAINT comments_body_check CHECK (char_length(body) <= 10000 AND (body <> '' OR deleted));

-- A user's own rows, found without scanning everyone's.
CREATE INDEX comments_author_idx ON comments (author_id, id);
CREATE INDEX threads_author_idx ON threads (author_id);
CREATE INDEX thread_votes_user_idx ON thread_votes (user_id);
CREATE INDEX reports_reporter_idx ON reports (reporter_id);
