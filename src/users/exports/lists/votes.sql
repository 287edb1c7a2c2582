-- votes.json: the questions user $1 voted for, by IRI ($2 the public base
-- URL; keyset: after $3, $4 rows).
SELECT v.thread_id::text AS k,
       json_build_object('thread', $2 || '/api/v1/threads/' || v.thread_id, 'group_id', v.group_id,
                         'created_at', v.created_at)::text AS doc
  FROM thread_votes v
 WHERE v.user_id = $1 AND v.thread_id::text > $3
 ORDER BY 1
 LIMIT $4
