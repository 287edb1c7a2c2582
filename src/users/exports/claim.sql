-- Claims the oldest pending export that no live lease holds, for attempt
-- $1, with a lease of $2 seconds, committed at once: the row lock is held
-- for this statement only, and of several instances looking at once each
-- takes another export or none (SKIP LOCKED). An export whose lease ran
-- out (its instance died or lost the database) is claimed again.
WITH due AS (
    SELECT id
      FROM personal_exports
     WHERE status = 'pending'
       AND (lease_until IS NULL OR lease_until < now())
     ORDER BY created_at
     LIMIT 1
       FOR UPDATE SKIP LOCKED
)
UPDATE personal_exports e
   SET claim = $1::uuid,
       lease_until = now() + make_interval(secs => $2::float8),
       attempts = e.attempts + 1
  FROM due
 WHERE e.id = due.id
RETURNING e.id, e.user_id, e.attempts
