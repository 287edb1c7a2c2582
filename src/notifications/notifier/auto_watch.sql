-- Starting a thread or commenting in one sets it to watching, unless the
-- author already chose a level for it (muted stays muted), or has deleted
-- their account since (src/users/deletion.rs).
INSERT INTO watches (user_id, scope, scope_id, level)
SELECT DISTINCT c.author_id, 'thread', c.thread_id, 'watching'
  FROM session_events e
  JOIN comments c ON c.id = e.comment_id
  JOIN users u ON u.id = c.author_id AND u.deleted_at IS NULL
 WHERE e.kind = 'comment.created' AND (e.xid, e.id) > ($1, $2) AND (e.xid, e.id) <= ($3, $4)
 ORDER BY 1, 3
ON CONFLICT DO NOTHING
