SELECT user_id, session_id, token_version, expires_at FROM event_tickets
  WHERE token_hash = $1 AND expires_at > now()
