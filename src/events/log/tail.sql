SELECT session_id, xid, id FROM session_events
  WHERE (xid, id) > ($1, $2) AND xid < $3 ORDER BY xid, id LIMIT 5000
