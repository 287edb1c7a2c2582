-- The first statement of a read of a session's paragraphs or counts
-- (src/versions/session.rs `begin`): the caller's access facts, the event
-- horizon, the session's newest event and retention's watermark, the
-- reader's seen counts (src/unread: their rows and sum), and the `profiles` watermark
-- (for the organiser's report, which shows participants). Nothing of the session is read
-- unless the caller may (`a.readable`).
-- $1, $2 the caller (`access::caller_key`), $3 the session.
WITH a AS MATERIALIZED (
    SELECT ca.*, r.event_horizon() AS horizon
      FROM reading_sessions rs
     CROSS JOIN LATERAL r.caller_access(rs.group_id, $1, $2) ca
     WHERE rs.id = $3)
SELECT a.*, v.xid AS event_xid, v.id AS event_id, w.xid AS pruned_xid, w.id AS pruned_id,
       mk.n AS marks, mk.s AS marks_seq, pf.xid AS profiles_xid, pf.id AS profiles_id
  FROM a
  LEFT JOIN LATERAL (SELECT e.xid, e.id FROM session_events e
                      WHERE a.readable AND e.session_id = $3
                      ORDER BY e.xid DESC, e.id DESC LIMIT 1) v ON true
  LEFT JOIN event_watermarks w ON w.name = 'pruned'
  LEFT JOIN event_watermarks pf ON pf.name = 'profiles'
  LEFT JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(p.seen), 0)::bigint AS s FROM paragraph_reads p
                      WHERE a.readable AND p.user_id = $1 AND p.session_id = $3 AND p.seen <> 0) mk ON true
