-- The caller's access to a group (src/access.rs `resolve`): $1, $2 the
-- caller (`caller_key`), $3 the group.
SELECT a.* FROM r.caller_access($3, $1, $2) a
