-- Reading an item is reading its thread: the caller's read marks rise to
-- each named item's latest comment (all of them with $2), never down;
-- `below` as in src/unread/routes/raise_marks.sql.
INSERT INTO thread_reads (user_id, session_id, thread_id, seq, below)
SELECT n.recipient_id, n.session_id, n.thread_id, n.latest_seq,
       r.mark_below(n.recipient_id, n.session_id, n.thread_id, n.latest_seq)
  FROM notifications n
 WHERE n.recipient_id = $1 AND ($2 OR n.id = ANY($3::uuid[]))
 ORDER BY n.session_id, n.thread_id
ON CONFLICT (user_id, session_id, thread_id) DO UPDATE
   SET seq = EXCLUDED.seq, updated_at = now(),
       below = r.mark_below(thread_reads.user_id, thread_reads.session_id, thread_reads.thread_id, EXCLUDED.seq)
 WHERE thread_reads.seq < EXCLUDED.seq
