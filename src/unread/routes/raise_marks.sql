-- Raises the reader's marks, never lowering one. `below` comes from
-- r.mark_below, which takes the session's marks lock (shared) first and
-- counts as of after it (src/db/replaceable/triggers.sql, "UNREAD BY
-- ARITHMETIC"); it is asked again on conflict, for the row as it now is.
-- $1 the reader, $2 the session, $3 the threads, $4 the seqs.
INSERT INTO thread_reads (user_id, session_id, thread_id, seq, below)
  SELECT $1, $2, m.thread_id, m.seq, r.mark_below($1, $2, m.thread_id, m.seq)
    FROM unnest($3::uuid[], $4::bigint[]) AS m (thread_id, seq)
  ORDER BY m.thread_id
  ON CONFLICT (user_id, session_id, thread_id) DO UPDATE
  SET seq = EXCLUDED.seq, updated_at = now(),
      below = r.mark_below(thread_reads.user_id, thread_reads.session_id, thread_reads.thread_id, EXCLUDED.seq)
  WHERE thread_reads.seq < EXCLUDED.seq
