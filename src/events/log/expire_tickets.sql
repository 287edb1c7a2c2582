DELETE FROM event_tickets WHERE expires_at < now()
