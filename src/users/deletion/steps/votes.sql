-- Up to $2 of user $1's votes, deleted (the trigger moves each thread's
-- count). Their threads are locked first, in the order posting locks them,
-- so the trigger waits on nobody holding a thread in another order.
WITH mine AS (
    SELECT t.id FROM threads t
     WHERE t.id IN (SELECT v.thread_id FROM thread_votes v WHERE v.user_id = $1 LIMIT $2)
     ORDER BY t.session_id, t.paragraph_id, t.id
       FOR NO KEY UPDATE
)
DELETE FROM thread_votes v USING mine WHERE v.user_id = $1 AND v.thread_id = mine.id
