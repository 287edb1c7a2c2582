UPDATE threads t SET paragraph_id = v.paragraph_id, quote_exact = v.exact,
      quote_start = v.start, quote_end = v.end_
  FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int4[], $5::int4[])
      AS v(id, paragraph_id, exact, start, end_)
  WHERE t.id = v.id
