INSERT INTO thread_anchor_history (id, thread_id, revision, from_paragraph, to_paragraph, from_quote, to_quote, status)
  SELECT gen_random_uuid(), v.id, $1, v.from_p, v.to_p, v.from_q, v.to_q, v.status
  FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::jsonb[], $6::jsonb[], $7::text[])
      AS v(id, from_p, to_p, from_q, to_q, status)
