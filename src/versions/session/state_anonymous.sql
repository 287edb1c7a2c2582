-- state.sql for a caller who has not signed in: the same columns, from
-- r.anonymous_access instead of r.caller_access, and no seen counts to read
-- (an anonymous reader has no marks). Nothing of the session is read unless
-- the caller may (`a.readable`).
-- $1 the session.
SELECT a.*, r.event_horizon() AS horizon, v.xid AS event_xid, v.id AS event_id,
       w.xid AS pruned_xid, w.id AS pruned_id,
       '{}'::integer[] AS seen
  FROM reading_sessions rs
 CROSS JOIN LATERAL r.anonymous_access(rs.group_id) a
  LEFT JOIN LATERAL (SELECT e.xid, e.id FROM session_events e
                      WHERE a.readable AND e.session_id = rs.id
                      ORDER BY e.xid DESC, e.id DESC LIMIT 1) v ON true
  LEFT JOIN event_watermarks w ON w.name = 'pruned'
 WHERE rs.id = $1
