-- Up to $2 of user $1's comments not yet tombstoned, all of one thread
-- (the thread of the oldest left),
-- locked in id order before any is changed: the write protocol's order
-- (comment, then thread and counter row, taken by the update's trigger),
-- with no comment lock sought while a thread is held.
SELECT id
  FROM comments
 WHERE author_id = $1 AND (NOT deleted OR body <> '')
   AND thread_id = (SELECT thread_id FROM comments
                     WHERE author_id = $1 AND (NOT deleted OR body <> '')
                     ORDER BY id LIMIT 1)
 ORDER BY id
 LIMIT $2
   FOR UPDATE
