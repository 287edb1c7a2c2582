-- Claims reader $1's digest of rhythm $2 for the period ending $3, and
-- returns where to send it, if the reader is still due one. The key is
-- unique: of two instances claiming it at once the second waits for the
-- first's transaction and then gets nothing (or claims it, had the first
-- rolled back because its mail was not sent).
WITH me AS (
    SELECT u.id, u.email, u.display_name
      FROM users u
      LEFT JOIN notification_settings ns ON ns.user_id = u.id
     WHERE u.id = $1
       AND u.email_verified_at IS NOT NULL
       AND coalesce(ns.email, 'immediate') <> 'off'
       AND coalesce(ns.digest, 'daily') = $2
), claimed AS (
    INSERT INTO notification_digests (user_id, rhythm, period_end, items)
    SELECT id, $2, $3, 0 FROM me
    ON CONFLICT DO NOTHING
    RETURNING user_id
)
SELECT me.email, me.display_name FROM me JOIN claimed ON claimed.user_id = me.id
