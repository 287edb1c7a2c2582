-- The caller's access to a reading session's group (src/access.rs
-- `resolve`): $1, $2 the caller (`caller_key`), $3 the session.
SELECT a.*
  FROM reading_sessions rs
 CROSS JOIN LATERAL r.caller_access(rs.group_id, $1, $2) a
 WHERE rs.id = $3
