-- thread_state.sql for a caller who has not signed in: the same columns,
-- from r.anonymous_access instead of r.caller_access, and nobody blocked
-- (only a signed-in reader blocks). Nothing of the session's events is read
-- unless the caller may (`a.readable`).
-- $1 the thread.
SELECT a.*, r.event_horizon() AS horizon, t.hidden AS thread_hidden, t.session_id,
       v.xid AS event_xid, v.id AS event_id, w.xid AS pruned_xid, w.id AS pruned_id,
       pf.xid AS profiles_xid, pf.id AS profiles_id, NULL::uuid[] AS blocked
  FROM threads t
  JOIN reading_sessions rs ON rs.id = t.session_id
 CROSS JOIN LATERAL r.anonymous_access(rs.group_id) a
  LEFT JOIN LATERAL (SELECT e.xid, e.id FROM session_events e
                      WHERE a.readable AND e.session_id = t.session_id
                      ORDER BY e.xid DESC, e.id DESC LIMIT 1) v ON true
  LEFT JOIN event_watermarks w ON w.name = 'pruned'
  LEFT JOIN event_watermarks pf ON pf.name = 'profiles'
 WHERE t.id = $1
