-- One-click unsubscribe from digests: `digest` becomes `off`. Returns a
-- row whenever the account exists.
INSERT INTO notification_settings AS s (user_id, digest)
SELECT u.id, 'off' FROM users u WHERE u.id = $1
ON CONFLICT (user_id) DO UPDATE SET digest = 'off', updated_at = now()
