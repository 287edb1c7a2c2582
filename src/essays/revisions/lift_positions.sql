UPDATE paragraphs SET position = position + 1000000 WHERE essay_id = $1 AND retired_in IS NULL
