-- One item due for an immediate mail ($1: its id, $2: the delay in
-- seconds), locked (`SKIP LOCKED`: another instance mailing it now has it),
-- with what the mail shows. The conditions are due.sql's, checked again
-- under the lock: an item read, mailed or hidden meanwhile is not returned.
SELECT n.id, n.recipient_id, n.thread_id, n.latest_comment_id, n.latest_seq, n.new_count, n.reason,
       u.email, u.display_name,
       g.name AS group_name, s.title AS session_title,
       CASE WHEN t.hidden THEN 'a thread of yours'
            -- Untitled: the opening comment's words (if visible), or the quote.
            ELSE coalesce(t.title, (SELECT left(fc.body, 120) FROM comments fc WHERE fc.thread_id = t.id AND NOT fc.hidden AND NOT fc.deleted ORDER BY fc.seq LIMIT 1),
                          left(t.quote_exact, 120), 'a thread') END AS thread_title,
       CASE WHEN n.reason = 'moderation' THEN NULL ELSE c.body END AS comment_body,
       CASE WHEN n.reason = 'moderation' THEN NULL ELSE a.display_name END AS actor
  FROM notifications n
  JOIN users u ON u.id = n.recipient_id
  JOIN groups g ON g.id = n.group_id
  JOIN reading_sessions s ON s.id = n.session_id
  JOIN threads t ON t.id = n.thread_id
  LEFT JOIN notification_settings ns ON ns.user_id = n.recipient_id
  LEFT JOIN notification_mails nm ON nm.notification_id = n.id
  LEFT JOIN thread_reads r ON r.user_id = n.recipient_id AND r.session_id = n.session_id
                          AND r.thread_id = n.thread_id
  LEFT JOIN comments c ON c.id = n.latest_comment_id
  LEFT JOIN users a ON a.id = c.author_id
 WHERE n.id = $1
   AND n.reason IN ('moderation', 'mention', 'reply')
   AND n.updated_at <= now() - make_interval(secs => $2)
   AND u.email_verified_at IS NOT NULL
   AND coalesce(ns.email, 'immediate') = 'immediate'
   AND coalesce(r.seq, -1) < n.latest_seq
   AND (nm.notification_id IS NULL OR coalesce(r.seq, -1) >= nm.mailed_seq)
   AND (g.visibility = 'public'
        OR EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = n.group_id AND m.user_id = n.recipient_id))
   AND NOT EXISTS (SELECT 1 FROM r.live_bans b WHERE b.group_id = n.group_id AND b.user_id = n.recipient_id)
   AND (n.reason = 'moderation' OR (NOT t.hidden AND c.id IS NOT NULL AND NOT c.hidden AND NOT c.deleted))
   FOR UPDATE OF n SKIP LOCKED
