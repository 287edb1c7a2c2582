-- Session $1's new participants: people with a counted comment in it and
-- none in any earlier session of the group, $2 at most (by username), and
-- how many there are.
WITH s AS (SELECT id, group_id, starts_at FROM reading_sessions WHERE id = $1),
here AS (
    SELECT DISTINCT c.author_id
      FROM threads t JOIN comments c ON c.thread_id = t.id
     WHERE t.session_id = $1 AND r.counts(c.hidden, c.deleted, t.hidden))
SELECT u.username, u.display_name, count(*) OVER () AS total
  FROM here
  JOIN users u ON u.id = here.author_id
  CROSS JOIN s
 WHERE NOT EXISTS (
    SELECT 1
      FROM reading_sessions o
      JOIN threads t ON t.session_id = o.id
      JOIN comments c ON c.thread_id = t.id
     WHERE o.group_id = s.group_id AND o.id <> s.id AND o.starts_at < s.starts_at
       AND c.author_id = here.author_id AND r.counts(c.hidden, c.deleted, t.hidden))
 ORDER BY u.username
 LIMIT $2
