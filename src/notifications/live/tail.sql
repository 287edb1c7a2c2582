-- Everything settled in the inbox log after ($1, $2), below the horizon $3,
-- for this instance's pump (index inbox_events_position_idx).
SELECT xid, id, recipient_id, kind, ids FROM inbox_events
 WHERE (xid, id) > ($1, $2) AND xid < $3
 ORDER BY xid, id
 LIMIT $4
