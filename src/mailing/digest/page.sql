-- One page of readers due for the digest of rhythm $1 for the period
-- [$2, $3), in id order after $4, at most $5: verified, mail not off, that
-- rhythm chosen (no settings row = daily), not yet sent this period, and
-- with an item whose activity falls in the period (whether it is still
-- unread and visible is checked when the digest is built).
SELECT u.id
  FROM users u
  LEFT JOIN notification_settings ns ON ns.user_id = u.id
 WHERE u.id > $4
   AND u.email_verified_at IS NOT NULL
   AND coalesce(ns.email, 'immediate') <> 'off'
   AND coalesce(ns.digest, 'daily') = $1
   AND NOT EXISTS (SELECT 1 FROM notification_digests d
                    WHERE d.user_id = u.id AND d.rhythm = $1 AND d.period_end = $3)
   AND EXISTS (SELECT 1 FROM notifications n
                WHERE n.recipient_id = u.id AND n.updated_at >= $2 AND n.updated_at < $3)
 ORDER BY u.id
 LIMIT $5
