-- Items due for an immediate mail, oldest activity first ($1: the delay in
-- seconds, $2: how many). Read without locks: `item.sql` takes each one
-- with its row lock and checks all of this again.
SELECT n.id
  FROM notifications n
  JOIN users u ON u.id = n.recipient_id
  JOIN groups g ON g.id = n.group_id
  JOIN threads t ON t.id = n.thread_id
  LEFT JOIN notification_settings ns ON ns.user_id = n.recipient_id
  LEFT JOIN notification_mails nm ON nm.notification_id = n.id
  LEFT JOIN thread_reads r ON r.user_id = n.recipient_id AND r.session_id = n.session_id
                          AND r.thread_id = n.thread_id
  LEFT JOIN comments c ON c.id = n.latest_comment_id
 WHERE n.reason IN ('moderation', 'mention', 'reply')
   -- Quiet for the delay; an item whose activity is a day old waits for the digest.
   AND n.updated_at <= now() - make_interval(secs => $1)
   AND n.updated_at > now() - interval '1 day'
   AND u.email_verified_at IS NOT NULL
   AND coalesce(ns.email, 'immediate') = 'immediate'
   -- Unread (the rule of thread_reads), and not mailed in this unread
   -- episode: a mail is due again only once its recipient read what it told.
   AND coalesce(r.seq, -1) < n.latest_seq
   AND (nm.notification_id IS NULL OR coalesce(r.seq, -1) >= nm.mailed_seq)
   -- Only what the recipient may see now.
   AND (g.visibility = 'public'
        OR EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = n.group_id AND m.user_id = n.recipient_id))
   AND NOT EXISTS (SELECT 1 FROM r.live_bans b WHERE b.group_id = n.group_id AND b.user_id = n.recipient_id)
   AND (n.reason = 'moderation' OR (NOT t.hidden AND c.id IS NOT NULL AND NOT c.hidden AND NOT c.deleted))
 ORDER BY n.updated_at
 LIMIT $2
