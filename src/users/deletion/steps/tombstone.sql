-- The comments $2 of user $1 become tombstones: deleted (the counting
-- triggers drop each one that counted), their words gone (and with them
-- their search document, generated from the body).
UPDATE comments
   SET deleted = true, deleted_by = coalesce(deleted_by, $1), body = ''
 WHERE id = ANY($2)
