-- Comment bodies and thread titles matching $1 in group $2, newest first
-- (src/search/models.rs `hits`). $3 the cap on the matches each branch
-- reads, $4 the rows wanted, $5 whether hidden content is shown
-- (moderators), $6 the session, or null for the whole group, $7 and $8 the
-- keyset position, or null for the first page.
-- Planned on every call with its values (`per_call`): the null tests and
-- $5 fold away before planning, so each call is planned as the statement of
-- its shape alone would be (tests/api/search_cost.rs checks every shape,
-- and the generic plan too).
SELECT hit.* FROM (
  (SELECT c.thread_id, c.id AS comment_id, t.session_id, t.paragraph_id, c.created_at,
          c.id AS key_id, (c.hidden OR t.hidden) AS hidden, c.body AS text, c.author_id
     FROM comments c
     JOIN threads t ON t.id = c.thread_id
     JOIN reading_sessions s ON s.id = t.session_id
    WHERE c.search @@ websearch_to_tsquery('simple', $1) AND s.group_id = $2 AND NOT c.deleted
      AND ($5::boolean OR r.counts(c.hidden, c.deleted, t.hidden))
      AND ($6::uuid IS NULL OR t.session_id = $6::uuid)
    LIMIT $3)
  UNION ALL
  (SELECT t.id, NULL, t.session_id, t.paragraph_id, t.created_at, t.id, t.hidden, t.title, t.author_id
     FROM threads t
     JOIN reading_sessions s ON s.id = t.session_id
    WHERE to_tsvector('simple', coalesce(t.title, '')) @@ websearch_to_tsquery('simple', $1)
      AND t.title IS NOT NULL AND s.group_id = $2
      AND ($5::boolean OR NOT t.hidden)
      AND ($6::uuid IS NULL OR t.session_id = $6::uuid)
    LIMIT $3)
) hit
 WHERE ($7::timestamptz IS NULL OR (hit.created_at, hit.key_id) < ($7::timestamptz, $8::uuid))
ORDER BY hit.created_at DESC, hit.key_id DESC
LIMIT $4
