-- blocks.json: the users user $1 blocks, by IRI ($2 the public base URL;
-- keyset: after $3, $4 rows).
SELECT b.blocked_id::text AS k,
       json_build_object('user', $2 || '/api/v1/users/' || b.blocked_id, 'user_id', b.blocked_id,
                         'created_at', b.created_at)::text AS doc
  FROM blocks b
 WHERE b.blocker_id = $1 AND b.blocked_id::text > $3
 ORDER BY 1
 LIMIT $4
