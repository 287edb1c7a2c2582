-- The caller's access to an essay's group (src/access.rs `resolve`): $1, $2
-- the caller (`caller_key`), $3 the essay.
SELECT a.*
  FROM essays e
 CROSS JOIN LATERAL r.caller_access(e.group_id, $1, $2) a
 WHERE e.id = $3
