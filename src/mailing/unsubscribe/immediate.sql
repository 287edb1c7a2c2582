-- One-click unsubscribe from the mail of single items: `email` goes from
-- `immediate` to `digest` (digests continue as chosen); `digest` and `off`
-- stay. Returns a row whenever the account exists.
INSERT INTO notification_settings AS s (user_id, email)
SELECT u.id, 'digest' FROM users u WHERE u.id = $1
ON CONFLICT (user_id) DO UPDATE
   SET email = CASE WHEN s.email = 'immediate' THEN 'digest' ELSE s.email END,
       updated_at = now()
