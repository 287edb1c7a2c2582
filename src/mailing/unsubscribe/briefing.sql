-- One-click unsubscribe from session briefings: `briefing` becomes false.
-- Returns a row whenever the account exists.
INSERT INTO notification_settings AS s (user_id, briefing)
SELECT u.id, false FROM users u WHERE u.id = $1
ON CONFLICT (user_id) DO UPDATE SET briefing = false, updated_at = now()
