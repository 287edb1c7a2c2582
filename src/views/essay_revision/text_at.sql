SELECT v.paragraph_id, v.position, v.text, v.kind FROM (
   SELECT DISTINCT ON (pv.paragraph_id) pv.paragraph_id, pv.position, pv.text, pv.kind
     FROM paragraph_versions pv JOIN paragraphs p ON p.id = pv.paragraph_id
    WHERE p.essay_id = $1 AND p.introduced_in <= $2 AND (p.retired_in IS NULL OR p.retired_in > $2)
      AND pv.revision <= $2
    ORDER BY pv.paragraph_id, pv.revision DESC) v
  ORDER BY v.position
