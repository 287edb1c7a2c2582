-- Sets what is given ($2 email, $3 digest, $4 briefing; NULL = unchanged),
-- from the defaults when the reader had no row.
INSERT INTO notification_settings AS s (user_id, email, digest, briefing)
VALUES ($1, coalesce($2, 'immediate'), coalesce($3, 'daily'), coalesce($4, true))
ON CONFLICT (user_id) DO UPDATE
   SET email = coalesce($2, s.email), digest = coalesce($3, s.digest),
       briefing = coalesce($4, s.briefing), updated_at = now()
RETURNING email, digest, briefing
