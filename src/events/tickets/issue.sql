INSERT INTO event_tickets (token_hash, user_id, session_id, token_version, expires_at)
  VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
