-- The first statement of a read of a thread's comments
-- (src/comments/routes.rs `readable_thread`): the caller's access facts, the event
-- horizon, the thread's hidden flag and session, the session's newest event
-- and retention's watermark, the `profiles` watermark, and whom the caller
-- blocks (sorted; null for none). Nothing of the session's events is read
-- unless the caller may (`a.readable`).
-- $1, $2 the caller (`access::caller_key`), $3 the thread.
WITH a AS MATERIALIZED (
    SELECT ca.*, r.event_horizon() AS horizon, t.hidden AS thread_hidden, t.session_id
      FROM threads t
      JOIN reading_sessions rs ON rs.id = t.session_id
     CROSS JOIN LATERAL r.caller_access(rs.group_id, $1, $2) ca
     WHERE t.id = $3)
SELECT a.*, v.xid AS event_xid, v.id AS event_id, w.xid AS pruned_xid, w.id AS pruned_id,
       pf.xid AS profiles_xid, pf.id AS profiles_id,
       (SELECT array_agg(b.blocked_id ORDER BY b.blocked_id) FROM blocks b
         WHERE b.blocker_id = $1) AS blocked
  FROM a
  LEFT JOIN LATERAL (SELECT e.xid, e.id FROM session_events e
                      WHERE a.readable AND e.session_id = a.session_id
                      ORDER BY e.xid DESC, e.id DESC LIMIT 1) v ON true
  LEFT JOIN event_watermarks w ON w.name = 'pruned'
  LEFT JOIN event_watermarks pf ON pf.name = 'profiles'
