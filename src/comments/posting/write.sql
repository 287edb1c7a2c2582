-- Writes decided posts (src/comments/posting.rs `write_now`): $1 a JSON
-- array of r.post objects, in the order of the write protocol. The comments
-- written come back; a post left out saw its thread or session change.
SELECT * FROM r.post_comments($1::jsonb)
