-- The caller's access to a thread's group (src/access.rs `resolve`): $1, $2
-- the caller (`caller_key`), $3 the thread.
SELECT a.*
  FROM threads t
  JOIN reading_sessions rs ON rs.id = t.session_id
 CROSS JOIN LATERAL r.caller_access(rs.group_id, $1, $2) a
 WHERE t.id = $3
