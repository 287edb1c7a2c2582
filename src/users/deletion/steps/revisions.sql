-- Up to $2 earlier versions of user $1's comments (kept for moderators).
DELETE FROM comment_revisions
 WHERE id IN (SELECT v.id FROM comment_revisions v JOIN comments c ON c.id = v.comment_id
               WHERE c.author_id = $1 LIMIT $2)
