-- The reader's unread comments per paragraph of a session (src/unread/
-- models.rs `paragraph_unread`): each paragraph's counted comments less,
-- over its marked threads that count, those at or below the mark or the
-- reader's own (an index range over comments_unread_idx above each mark).
-- $1 the reader, $2 the session.
WITH m AS MATERIALIZED (
    SELECT t.paragraph_id, t.comment_count, r.thread_id, r.seq
      FROM thread_reads r JOIN threads t ON t.id = r.thread_id
     WHERE r.user_id = $1 AND r.session_id = $2 AND NOT t.hidden),
seen AS (
    SELECT paragraph_id,
           sum(comment_count - (SELECT count(*) FROM comments c
                                 WHERE c.thread_id = m.thread_id AND c.seq > m.seq
                                   AND r.counts(c.hidden, c.deleted, false) AND c.author_id <> $1)) AS seen
      FROM m GROUP BY paragraph_id)
SELECT pc.paragraph_id AS id, (pc.comment_count - coalesce(seen.seen, 0))::bigint AS unread
  FROM paragraph_counts pc LEFT JOIN seen ON seen.paragraph_id = pc.paragraph_id
 WHERE pc.session_id = $2
