INSERT INTO thread_reads (user_id, session_id, thread_id, seq)
  SELECT $1, $2, m.thread_id, m.seq FROM unnest($3::uuid[], $4::bigint[]) AS m (thread_id, seq)
  ORDER BY m.thread_id
  ON CONFLICT (user_id, session_id, thread_id) DO UPDATE
  SET seq = EXCLUDED.seq, updated_at = now()
  WHERE thread_reads.seq < EXCLUDED.seq
