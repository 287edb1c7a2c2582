-- Claim up to $1 notifications whose latest change is not pushed yet (and
-- that no pusher holds or waits to retry), oldest change first. The claim
-- is a lease of $2 seconds, committed at once: the row lock is held for
-- this statement only, so the notifier never waits on a push service.
WITH due AS (
    SELECT id
      FROM notifications
     WHERE pushed_for IS DISTINCT FROM updated_at
       AND (push_not_before IS NULL OR push_not_before <= now())
     ORDER BY updated_at
     LIMIT $1::bigint
       FOR UPDATE SKIP LOCKED
)
UPDATE notifications n
   SET push_not_before = now() + make_interval(secs => $2::float8)
  FROM due
 WHERE n.id = due.id
RETURNING n.id, n.updated_at, n.push_attempts, n.push_retry
