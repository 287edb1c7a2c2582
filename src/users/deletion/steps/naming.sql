-- Up to $3 comments after $2 (id order) whose words include username $1: a
-- superset of those mentioning it (the search document splits a name at
-- '-' and '_'), read with their bodies for the mention parser to decide.
SELECT id, body
  FROM comments
 WHERE search @@ plainto_tsquery('simple', $1) AND id > $2
 ORDER BY id
 LIMIT $3
