-- Up to $2 titles of user $1's threads, cleared; the threads are locked in
-- the order posting locks them (session, paragraph, thread).
WITH mine AS (
    SELECT id FROM threads
     WHERE author_id = $1 AND title IS NOT NULL
     ORDER BY session_id, paragraph_id, id
     LIMIT $2
       FOR NO KEY UPDATE
)
UPDATE threads t SET title = NULL FROM mine WHERE t.id = mine.id
