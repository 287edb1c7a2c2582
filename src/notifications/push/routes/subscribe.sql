-- Subscribe endpoint $2 for user $1 with keys $3 and $4, while the user holds
-- fewer than $5 other subscriptions. The same endpoint again updates its
-- keys under the same id; an endpoint another user held (the browser's
-- account changed) moves to this user under a new id, so the previous
-- owner's notifications stop going to it. No row: the user is at the cap.
INSERT INTO push_subscriptions AS s (user_id, endpoint, p256dh, auth)
SELECT $1, $2, $3, $4
 WHERE (SELECT count(*) FROM push_subscriptions WHERE user_id = $1 AND endpoint <> $2) < $5
ON CONFLICT (endpoint) DO UPDATE
   SET id = CASE WHEN s.user_id = EXCLUDED.user_id THEN s.id ELSE EXCLUDED.id END,
       created_at = CASE WHEN s.user_id = EXCLUDED.user_id THEN s.created_at ELSE now() END,
       user_id = EXCLUDED.user_id,
       p256dh = EXCLUDED.p256dh,
       auth = EXCLUDED.auth,
       updated_at = now()
RETURNING s.id
