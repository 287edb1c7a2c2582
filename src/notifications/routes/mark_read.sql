-- Reading an item is reading its thread: the caller's read marks rise to
-- each named item's latest comment (all of them with $2), never down.
INSERT INTO thread_reads (user_id, session_id, thread_id, seq)
SELECT n.recipient_id, n.session_id, n.thread_id, n.latest_seq
  FROM notifications n
 WHERE n.recipient_id = $1 AND ($2 OR n.id = ANY($3::uuid[]))
 ORDER BY n.session_id, n.thread_id
ON CONFLICT (user_id, session_id, thread_id) DO UPDATE
   SET seq = EXCLUDED.seq, updated_at = now()
 WHERE thread_reads.seq < EXCLUDED.seq
