-- The reader's unread comments in each of the threads asked about
-- (src/unread/models.rs `thread_unread`), by the arithmetic of "UNREAD BY
-- ARITHMETIC" (src/db/replaceable/triggers.sql): a hidden thread has none
-- that count; a thread never marked has all its counted comments unread
-- (and none of the reader's own: posting marks); a marked one, its counted
-- comments less those at or below the mark (`below`).
-- $1 the reader, $2 the threads.
SELECT t.id,
       CASE WHEN t.hidden THEN 0 ELSE t.comment_count - coalesce(m.below, 0) END::bigint AS unread
  FROM threads t
  LEFT JOIN thread_reads m ON m.user_id = $1 AND m.session_id = t.session_id AND m.thread_id = t.id
 WHERE t.id = ANY($2)
