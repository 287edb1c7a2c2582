-- reports.json: the reports user $1 filed (never those about them), the
-- reported comment by IRI only ($2 the public base URL; keyset: after $3,
-- $4 rows). The moderators' note is theirs, not the reporter's.
SELECT r.id::text AS k,
       json_build_object('id', r.id, 'comment', $2 || '/api/v1/annotations/' || r.comment_id,
                         'group_id', r.group_id, 'reason', r.reason, 'status', r.status,
                         'outcome', r.outcome, 'created_at', r.created_at,
                         'resolved_at', r.resolved_at)::text AS doc
  FROM reports r
 WHERE r.reporter_id = $1 AND r.id::text > $3
 ORDER BY 1
 LIMIT $4
