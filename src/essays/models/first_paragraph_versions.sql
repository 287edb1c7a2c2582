INSERT INTO paragraph_versions (paragraph_id, revision, position, kind, text, change)
  SELECT id, 1, position, kind, text, 'added' FROM paragraphs WHERE essay_id = $1
