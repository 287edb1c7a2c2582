-- pgbench reference (a) for GET /threads/{id}/comments: the bare data of the
-- first page, 50 comments of a random seeded thread in reading order with
-- their authors, without the access check the server adds.
\set t random(0, 9999)
SELECT c.id, c.parent_id, c.depth, c.body, c.hidden, c.deleted, c.created_at, c.edited_at,
       u.id, u.username, u.display_name
  FROM comments c JOIN users u ON u.id = c.author_id
 WHERE c.thread_id = ('00000000-0000-7000-9000-' || lpad(:t::text, 12, '0'))::uuid
 ORDER BY c.sort_key
 LIMIT 51;
