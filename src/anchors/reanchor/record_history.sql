INSERT INTO thread_anchor_history
  (id, thread_id, revision, actor_id, from_paragraph, to_paragraph, from_quote, to_quote, status)
  VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, 'anchored')
