SELECT id, xid, session_id, kind, paragraph_id, thread_id, comment_id, target_user_id, detail
  FROM session_events
  WHERE session_id = $1 AND (xid, id) > ($2, $3) AND xid < $4
  ORDER BY xid, id LIMIT $5
