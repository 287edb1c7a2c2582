SELECT e.id AS essay_id, e.revision FROM essays e
  JOIN reading_sessions s ON s.essay_id = e.id WHERE s.id = $1
