-- notification-settings.json: user $1's mail settings (the defaults when
-- never changed).
SELECT json_build_object(
           'email', coalesce(ns.email, 'immediate'), 'digest', coalesce(ns.digest, 'daily'),
           'updated_at', ns.updated_at)::text AS doc
  FROM users u
  LEFT JOIN notification_settings ns ON ns.user_id = u.id
 WHERE u.id = $1
