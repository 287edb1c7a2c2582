INSERT INTO essay_revisions (essay_id, revision, body, format, created_by, created_at)
  SELECT id, 1, $2, format, created_by, created_at FROM essays WHERE id = $1
