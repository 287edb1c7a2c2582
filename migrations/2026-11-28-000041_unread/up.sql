-- Unread state. Every comment keeps the number the comments_seq
-- sequence gave it (its sort_key already ends with that number in hex).
-- Within one thread seq order is commit order: every comment insert holds its
-- thread's row lock from before the number is drawn until commit (the write
-- protocol in src/db/replaceable/triggers.sql), so a reader's mark at seq S
-- can never skip a comment that commits later with a lower number.
ALTER TABLE comments ADD COLUMN seq bigint;
UPDATE comments SET seq = ('x' || right(sort_key, 16))::bit(64)::bigint;
ALTER TABLE comments ALTER COLUMN seq SET NOT NULL;
-- What unread counts read: a thread's counted comments above a mark, with
-- their authors (to leave out the reader's own), index-only where pages are
-- all-visible. Hiding or deleting a comment (rare) leaves this index.
CREATE INDEX comments_unread_idx ON comments (thread_id, seq) INCLUDE (author_id)
    WHERE NOT hidden AND NOT deleted;

-- The newest comment each reader has seen per thread, as its seq; only ever
-- raised. session_id lets /counts read a reader's marks for one session in
-- one index range.
CREATE TABLE thread_reads (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id uuid NOT NULL REFERENCES reading_sessions (id) ON DELETE CASCADE,
    thread_id  uuid NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, session_id, thread_id)
);
CREATE INDEX thread_reads_thread_idx ON thread_reads (thread_id);

-- Posting marks the author's thread read up to their comment; comments
-- written before this migration do the same.
INSERT INTO thread_reads (user_id, session_id, thread_id, seq)
SELECT c.author_id, t.session_id, c.thread_id, max(c.seq)
  FROM comments c JOIN threads t ON t.id = c.thread_id
 GROUP BY c.author_id, t.session_id, c.thread_id;
