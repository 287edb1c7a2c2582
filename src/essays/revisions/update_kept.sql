UPDATE paragraphs p SET position = v.position, text = v.text, kind = v.kind
  FROM unnest($1::uuid[], $2::int4[], $3::text[], $4::text[]) AS v(id, position, text, kind)
  WHERE p.id = v.id
