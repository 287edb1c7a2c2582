UPDATE thread_anchors a SET status = 'anchored', reason = NULL, confidence = NULL, revision = $2,
      quote_prefix = $3, quote_suffix = $4,
      original_quote = coalesce(a.original_quote, jsonb_strip_nulls(jsonb_build_object(
          'paragraph_id', t.paragraph_id, 'exact', t.quote_exact, 'start', t.quote_start,
          'end', t.quote_end, 'revision', a.revision)))
  FROM threads t WHERE a.thread_id = $1 AND t.id = $1
