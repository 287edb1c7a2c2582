-- The latest export of user $1 asked for within the last 24 hours that did
-- not fail (at most one a day), and when the next may be asked for.
SELECT id, created_at + interval '24 hours' AS next_at
  FROM personal_exports
 WHERE user_id = $1 AND status <> 'failed' AND created_at > now() - interval '24 hours'
 ORDER BY created_at DESC
 LIMIT 1
