-- One recipient's settled inbox events after ($2, $3), below the horizon $4
-- (index inbox_events_recipient_idx).
SELECT xid, id, recipient_id, kind, ids FROM inbox_events
 WHERE recipient_id = $1 AND (xid, id) > ($2, $3) AND xid < $4
 ORDER BY xid, id
 LIMIT $5
