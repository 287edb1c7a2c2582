-- Makes $2 (a SHA-256) the only calendar feed of user $1, made under their
-- token_version $3; the one it replaces stops working at once.
INSERT INTO calendar_feeds (user_id, token_hash, token_version)
VALUES ($1, $2, $3)
ON CONFLICT (user_id) DO UPDATE
   SET token_hash = EXCLUDED.token_hash, token_version = EXCLUDED.token_version, created_at = now()
