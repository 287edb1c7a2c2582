-- The first statement of a signed-in caller's read of a session's paragraphs,
-- counts or report (src/versions/session.rs `begin`): the caller's access facts, the
-- event horizon, the session's newest event and retention's watermark, and
-- the reader's seen counts (src/unread), non-zero ones, in no order: their
-- number and sum name them.
-- It reads the newest event and the marks whatever the caller's access:
-- `begin` answers 404 from `readable` before it looks at either. So it has
-- no gate, no common table expression and no aggregate (the seen counts come
-- back as one array): PostgreSQL spent as long setting up this statement's
-- plan nodes as running them, and every read runs it.
-- $1, $2 the caller (`access::caller_key`), $3 the session.
SELECT ca.*, r.event_horizon() AS horizon, v.xid AS event_xid, v.id AS event_id,
       w.xid AS pruned_xid, w.id AS pruned_id,
       ARRAY(SELECT p.seen FROM paragraph_reads p
              WHERE p.user_id = $1 AND p.session_id = $3 AND p.seen <> 0) AS seen
  FROM reading_sessions rs
 CROSS JOIN LATERAL r.caller_access(rs.group_id, $1, $2) ca
  LEFT JOIN LATERAL (SELECT e.xid, e.id FROM session_events e
                      WHERE e.session_id = rs.id
                      ORDER BY e.xid DESC, e.id DESC LIMIT 1) v ON true
  LEFT JOIN event_watermarks w ON w.name = 'pruned'
 WHERE rs.id = $3
