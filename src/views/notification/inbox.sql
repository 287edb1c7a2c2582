-- The caller's inbox, newest activity first, after the keyset ($4, $5):
-- only items of groups the caller may read now (r.caller_access, the access
-- policy's one statement of its facts; a ban hides a public group's items
-- too) and of threads nobody has hidden, except the author's notice that
-- their thread was hidden.
SELECT n.id, n.reason, n.thread_id, t.title, n.session_id, n.group_id, n.paragraph_id, n.latest_comment_id,
       n.new_count, n.actor_ids, n.updated_at, (rd.seq IS NULL OR rd.seq < n.latest_seq) AS unread
  FROM notifications n
  JOIN threads t ON t.id = n.thread_id
  CROSS JOIN LATERAL r.caller_access(n.group_id, $1, $2) a
  LEFT JOIN thread_reads rd ON rd.user_id = n.recipient_id AND rd.session_id = n.session_id
                           AND rd.thread_id = n.thread_id
 WHERE n.recipient_id = $1 AND a.readable AND NOT a.banned
   AND (NOT t.hidden OR (n.reason = 'moderation' AND t.author_id = $1))
   AND (NOT $3 OR rd.seq IS NULL OR rd.seq < n.latest_seq)
   AND ($4::timestamptz IS NULL OR (n.updated_at, n.id) < ($4::timestamptz, $5::uuid))
 ORDER BY n.updated_at DESC, n.id DESC
 LIMIT $6
