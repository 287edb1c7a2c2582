-- The reader's unread comments in each of the threads asked about
-- (src/unread/models.rs `fill_threads`): a hidden thread has none that count;
-- a thread never marked has all its counted comments unread (and none of
-- the reader's own: posting marks); a marked one, the counted comments by
-- others above the mark (an index range over comments_unread_idx).
-- The mark is looked up per thread (a primary-key probe), whatever the
-- planner guesses about how many marks the reader has.
-- $1 the reader, $2 the threads.
WITH m AS MATERIALIZED (
    SELECT t.id AS thread_id, t.hidden, t.comment_count,
           (SELECT r.seq FROM thread_reads r
             WHERE r.user_id = $1 AND r.session_id = t.session_id AND r.thread_id = t.id) AS seq
      FROM threads t WHERE t.id = ANY($2))
SELECT m.thread_id AS id,
       CASE WHEN m.hidden THEN 0
            WHEN m.seq IS NULL THEN m.comment_count::bigint
            ELSE (SELECT count(*) FROM comments c
                   WHERE c.thread_id = m.thread_id AND c.seq > m.seq
                     AND r.counts(c.hidden, c.deleted, false) AND c.author_id <> $1)
       END AS unread
  FROM m
