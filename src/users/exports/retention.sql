-- Exports past their 24 hours (ready ones from when they were ready,
-- failed ones from when they were asked for) go with their chunks.
DELETE FROM personal_exports
 WHERE (status = 'ready' AND expires_at < now())
    OR (status = 'failed' AND created_at < now() - interval '24 hours')
