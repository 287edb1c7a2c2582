-- How many of the caller's visible items are unread (the inbox's filter).
SELECT count(*) AS n
  FROM notifications n
  JOIN threads t ON t.id = n.thread_id
  CROSS JOIN LATERAL r.caller_access(n.group_id, $1, $2) a
  LEFT JOIN thread_reads rd ON rd.user_id = n.recipient_id AND rd.session_id = n.session_id
                           AND rd.thread_id = n.thread_id
 WHERE n.recipient_id = $1 AND a.readable AND NOT a.banned
   AND (NOT t.hidden OR (n.reason = 'moderation' AND t.author_id = $1))
   AND (rd.seq IS NULL OR rd.seq < n.latest_seq)
