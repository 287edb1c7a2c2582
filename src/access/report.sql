-- The caller's access to a report's group (src/access.rs `resolve`): $1, $2
-- the caller (`caller_key`), $3 the report.
SELECT a.*
  FROM reports rp
 CROSS JOIN LATERAL r.caller_access(rp.group_id, $1, $2) a
 WHERE rp.id = $3
