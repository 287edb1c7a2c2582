UPDATE notifier_cursor SET xid = $1, id = $2, updated_at = now() WHERE name = 'notifications'
