-- reads.json: how far user $1 has read each thread (`seq`: the last comment
-- read, in the thread's order; $2 the public base URL; keyset: after $3,
-- $4 rows).
SELECT r.thread_id::text AS k,
       json_build_object('thread', $2 || '/api/v1/threads/' || r.thread_id, 'session_id', r.session_id,
                         'seq', r.seq, 'updated_at', r.updated_at)::text AS doc
  FROM thread_reads r
 WHERE r.user_id = $1 AND r.thread_id::text > $3
 ORDER BY 1
 LIMIT $4
