-- Search as a member, in one session, a later page
-- (src/search/models.rs `statement`). $1 the query text, $2 the group,
-- $3 the cap on matches read, $4 the rows wanted, $5 the session, $6 and $7 the keyset position.
SELECT hit.* FROM (
  (SELECT c.thread_id, c.id AS comment_id, t.session_id, t.paragraph_id, c.created_at,
          c.id AS key_id, (c.hidden OR t.hidden) AS hidden, c.body AS text
     FROM comments c
     JOIN threads t ON t.id = c.thread_id
     JOIN reading_sessions s ON s.id = t.session_id
    WHERE c.search @@ websearch_to_tsquery('simple', $1) AND s.group_id = $2
      AND r.counts(c.hidden, c.deleted, t.hidden)
      AND t.session_id = $5
    LIMIT $3)
  UNION ALL
  (SELECT t.id, NULL, t.session_id, t.paragraph_id, t.created_at, t.id, t.hidden, t.title
     FROM threads t
     JOIN reading_sessions s ON s.id = t.session_id
    WHERE to_tsvector('simple', coalesce(t.title, '')) @@ websearch_to_tsquery('simple', $1)
      AND t.title IS NOT NULL AND s.group_id = $2 AND NOT t.hidden AND t.session_id = $5
    LIMIT $3)
) hit
 WHERE (hit.created_at, hit.key_id) < ($6, $7)
ORDER BY hit.created_at DESC, hit.key_id DESC
LIMIT $4
