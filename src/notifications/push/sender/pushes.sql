-- What to push for the claimed notifications $1 at their claimed changes $2
-- (a row changed since its claim renders nothing now: its newer change stays
-- due, so no push ever shows a later change under an earlier one's claim and
-- the later one pushed again): one row per notification
-- and subscription of its recipient, only while the item is unread and the
-- recipient may still see it (the inbox's rule, src/views/notification/
-- inbox.sql: a group they may read now through r.caller_access, not banned,
-- a thread nobody hid unless it is the author's notice of its hiding).
SELECT n.id AS notification_id, n.thread_id, n.reason, n.new_count, t.title,
       a.visibility = 'public' AS public_group,
       ARRAY(SELECT u.username
               FROM unnest(n.actor_ids) WITH ORDINALITY AS x (user_id, position)
               JOIN users u ON u.id = x.user_id
              ORDER BY x.position
              LIMIT 5) AS actors,
       s.id AS subscription_id, s.endpoint, s.p256dh, s.auth
  FROM notifications n
  JOIN users rcpt ON rcpt.id = n.recipient_id
  JOIN threads t ON t.id = n.thread_id
  JOIN push_subscriptions s ON s.user_id = n.recipient_id
  CROSS JOIN LATERAL r.caller_access(n.group_id, n.recipient_id, rcpt.token_version) a
  LEFT JOIN thread_reads rd ON rd.user_id = n.recipient_id AND rd.session_id = n.session_id
                           AND rd.thread_id = n.thread_id
 WHERE (n.id, n.updated_at) IN (SELECT * FROM unnest($1::uuid[], $2::timestamptz[]))
   AND a.readable AND NOT a.banned
   AND (NOT t.hidden OR (n.reason = 'moderation' AND t.author_id = n.recipient_id))
   AND (rd.seq IS NULL OR rd.seq < n.latest_seq)
 ORDER BY n.id, s.created_at
