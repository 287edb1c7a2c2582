DELETE FROM session_events WHERE (xid, id) IN (
   SELECT xid, id FROM session_events
    WHERE created_at < now() - make_interval(secs => $1)
    ORDER BY xid, id LIMIT 5000)
  RETURNING xid, id
