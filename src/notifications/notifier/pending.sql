-- Whether a settled event waits after the cursor: the first event after it
-- (in log order, so with the smallest xid) is below the horizon. Read
-- without taking the cursor: taking it is a row lock, a write, so a round
-- that took it with nothing to derive committed (and flushed the log to
-- disk) for nothing, five times a second on a server nobody writes to.
-- `ORDER BY ... LIMIT 1` walks the (xid, id) index from the cursor; an
-- `EXISTS` over the same rows was planned as a scan of the whole log.
SELECT coalesce((SELECT e.xid < r.event_horizon()
                   FROM session_events e
                  WHERE (e.xid, e.id) > (c.xid, c.id)
                  ORDER BY e.xid, e.id
                  LIMIT 1), false) AS pending
  FROM notifier_cursor c
 WHERE c.name = 'notifications'
