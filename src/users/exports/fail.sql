-- Attempt $2 at export $1 stopped for good (what it reads cannot be
-- exported): failed, and nothing of it is kept.
UPDATE personal_exports
   SET status = 'failed', finished_at = now(), claim = NULL, lease_until = NULL
 WHERE id = $1 AND claim = $2 AND status = 'pending'
