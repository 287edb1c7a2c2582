-- state.sql for the organiser's report: no seen counts (the report has no
-- unread), and the `profiles` watermark, since the report shows participants.
-- $1, $2 the caller (`access::caller_key`), $3 the session.
SELECT ca.*, r.event_horizon() AS horizon, v.xid AS event_xid, v.id AS event_id,
       w.xid AS pruned_xid, w.id AS pruned_id,
       '{}'::integer[] AS seen, pf.xid AS profiles_xid, pf.id AS profiles_id
  FROM reading_sessions rs
 CROSS JOIN LATERAL r.caller_access(rs.group_id, $1, $2) ca
  LEFT JOIN LATERAL (SELECT e.xid, e.id FROM session_events e
                      WHERE e.session_id = rs.id
                      ORDER BY e.xid DESC, e.id DESC LIMIT 1) v ON true
  LEFT JOIN event_watermarks w ON w.name = 'pruned'
  LEFT JOIN event_watermarks pf ON pf.name = 'profiles'
 WHERE rs.id = $3
