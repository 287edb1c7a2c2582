-- Unread counts by arithmetic (the rule is stated beside the triggers that
-- keep these numbers, in src/db/replaceable/triggers.sql, "Read marks").
--
-- below: how many of the thread's comments that count in themselves (not
-- hidden, not deleted) are at or below the mark's seq.
ALTER TABLE thread_reads ADD COLUMN below integer NOT NULL DEFAULT 0;
UPDATE thread_reads r
   SET below = (SELECT count(*) FROM comments c
                 WHERE c.thread_id = r.thread_id AND c.seq <= r.seq AND NOT c.hidden AND NOT c.deleted);

-- Per reader, session and paragraph: the sum of `below` over the reader's
-- marks on the paragraph's threads that are not hidden. A paragraph's unread
-- count is its paragraph_counts.comment_count less this; a missing row is 0.
CREATE TABLE paragraph_reads (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id   uuid NOT NULL REFERENCES reading_sessions (id) ON DELETE CASCADE,
    -- (no foreign key: paragraphs go only with their essay, whose sessions
    -- take these rows with them, and a key-share lock on the paragraph
    -- would wait behind a revision)
    paragraph_id uuid NOT NULL,
    seen         integer NOT NULL,
    PRIMARY KEY (user_id, session_id, paragraph_id)
);
INSERT INTO paragraph_reads (user_id, session_id, paragraph_id, seen)
SELECT r.user_id, r.session_id, t.paragraph_id, sum(r.below)
  FROM thread_reads r JOIN threads t ON t.id = r.thread_id
 WHERE NOT t.hidden
 GROUP BY r.user_id, r.session_id, t.paragraph_id;
