-- The events of this round: at most $4 after ($1, $2), all settled (below
-- the horizon $3), in log order.
SELECT xid, id FROM session_events
 WHERE (xid, id) > ($1, $2) AND xid < $3
 ORDER BY xid, id
 LIMIT $4
