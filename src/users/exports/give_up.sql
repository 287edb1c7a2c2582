-- An export whose builds failed $1 times (each lease ran out or the build
-- stopped with an error) is failed; its owner may ask again at once.
UPDATE personal_exports
   SET status = 'failed', finished_at = now(), claim = NULL, lease_until = NULL
 WHERE status = 'pending' AND attempts >= $1 AND lease_until < now()
