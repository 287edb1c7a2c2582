-- Attempt $2 built export $1 ($3 bytes): ready, downloadable for 24 hours.
-- No row: the attempt had lost its lease, and the export is another's.
UPDATE personal_exports
   SET status = 'ready', finished_at = now(), expires_at = now() + interval '24 hours',
       size_bytes = $3, lease_until = NULL
 WHERE id = $1 AND claim = $2 AND status = 'pending'
RETURNING expires_at
