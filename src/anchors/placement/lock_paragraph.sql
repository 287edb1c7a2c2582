SELECT p.text FROM paragraphs p JOIN reading_sessions s ON s.essay_id = p.essay_id
  WHERE s.id = $1 AND p.id = $2 AND p.retired_in IS NULL FOR SHARE OF p
