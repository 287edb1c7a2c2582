-- Every ask's facts (src/comments/posting.rs `read_facts`): the caller's
-- access facts (which also read the author's profile), the thread's state
-- with its session's status, and the parent's place. `f.ord` ties a row to
-- its ask; an ask whose thread does not exist has no row. (`r.asks`, in
-- src/db/replaceable/triggers.sql, says why the asks go through a function.)
-- $1 the callers, $2 their token versions, $3 the threads, $4 the parents.
SELECT f.ord, ca.*, t.locked, t.hidden AS thread_hidden, rs.status,
       t.session_id AS thread_session, t.paragraph_id AS thread_paragraph,
       p.thread_id AS parent_thread, p.depth AS parent_depth
  FROM r.asks($1, $2, $3, $4) AS f
  JOIN threads t ON t.id = f.tid
  JOIN reading_sessions rs ON rs.id = t.session_id
 CROSS JOIN LATERAL r.caller_access(rs.group_id, f.uid, f.ver) ca
  LEFT JOIN comments p ON p.id = f.pid
