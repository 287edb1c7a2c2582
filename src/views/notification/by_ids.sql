-- Items $3 of the caller's inbox, by the rules of inbox.sql (which says why).
SELECT n.id, n.reason, n.thread_id, t.title, n.session_id, n.group_id, n.paragraph_id, n.latest_comment_id,
       n.new_count, n.actor_ids, n.updated_at, (rd.seq IS NULL OR rd.seq < n.latest_seq) AS unread
  FROM notifications n
  JOIN threads t ON t.id = n.thread_id
  CROSS JOIN LATERAL r.caller_access(n.group_id, $1, $2) a
  LEFT JOIN thread_reads rd ON rd.user_id = n.recipient_id AND rd.session_id = n.session_id
                           AND rd.thread_id = n.thread_id
 WHERE n.recipient_id = $1 AND n.id = ANY($3::uuid[]) AND a.readable AND NOT a.banned
   AND (NOT t.hidden OR (n.reason = 'moderation' AND t.author_id = $1))
