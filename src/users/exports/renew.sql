-- Attempt $2 still holds export $1: its lease runs $3 seconds more. No row:
-- the lease ran out and another attempt took the export over.
UPDATE personal_exports
   SET lease_until = now() + make_interval(secs => $3::float8)
 WHERE id = $1 AND claim = $2 AND status = 'pending'
RETURNING id
