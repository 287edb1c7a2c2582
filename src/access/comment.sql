-- The caller's access to a comment's group (src/access.rs `resolve`): $1,
-- $2 the caller (`caller_key`), $3 the comment.
SELECT a.*
  FROM comments c
  JOIN threads t ON t.id = c.thread_id
  JOIN reading_sessions rs ON rs.id = t.session_id
 CROSS JOIN LATERAL r.caller_access(rs.group_id, $1, $2) a
 WHERE c.id = $3
