UPDATE thread_anchors a SET status = v.status, reason = v.reason, confidence = v.confidence,
      revision = $7,
      quote_prefix = CASE WHEN v.placed THEN v.prefix ELSE a.quote_prefix END,
      quote_suffix = CASE WHEN v.placed THEN v.suffix ELSE a.quote_suffix END,
      original_quote = coalesce(a.original_quote, jsonb_strip_nulls(jsonb_build_object(
          'paragraph_id', t.paragraph_id, 'exact', t.quote_exact, 'start', t.quote_start,
          'end', t.quote_end, 'revision', a.revision)))
  FROM threads t, unnest($1::uuid[], $2::text[], $3::text[], $4::float4[], $5::text[], $6::text[], $8::bool[])
      AS v(id, status, reason, confidence, prefix, suffix, placed)
  WHERE a.thread_id = v.id AND t.id = v.id
