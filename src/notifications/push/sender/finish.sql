-- Record a round's outcome for notification $1, claimed at change $2. Done
-- ($3): the change is pushed (a newer change, made meanwhile, stays due).
-- Not done: the subscriptions $4 are owed it, tried again after $5 seconds;
-- if the row changed meanwhile, the newer change is owed to everyone.
UPDATE notifications
   SET pushed_for = CASE WHEN $3::boolean THEN $2::timestamptz ELSE pushed_for END,
       push_attempts = CASE WHEN NOT $3 AND updated_at = $2 THEN push_attempts + 1 ELSE 0 END,
       push_retry = CASE WHEN NOT $3 AND updated_at = $2 THEN $4::uuid[] END,
       push_not_before = CASE WHEN $3 THEN NULL ELSE now() + make_interval(secs => $5::float8) END
 WHERE id = $1::uuid
