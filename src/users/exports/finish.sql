-- Attempt $2 built export $1 ($3 bytes): ready, downloadable for 24 hours,
-- and the owner's live inbox streams are told (`export.ready`,
-- src/notifications/live.rs) in the same transaction.
-- No row: the attempt had lost its lease, and the export is another's.
WITH ready AS (
    UPDATE personal_exports
       SET status = 'ready', finished_at = now(), expires_at = now() + interval '24 hours',
           size_bytes = $3, lease_until = NULL
     WHERE id = $1 AND claim = $2 AND status = 'pending'
    RETURNING id, user_id, expires_at
), told AS (
    INSERT INTO inbox_events (recipient_id, kind, ids)
    SELECT user_id, 'export.ready', ARRAY[id] FROM ready
)
SELECT expires_at FROM ready
