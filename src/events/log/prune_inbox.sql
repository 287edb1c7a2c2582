-- Up to 5,000 inbox events older than $1 seconds, oldest first.
DELETE FROM inbox_events WHERE id IN (
   SELECT id FROM inbox_events
    WHERE created_at < now() - make_interval(secs => $1)
    ORDER BY created_at LIMIT 5000)
  RETURNING xid, id
