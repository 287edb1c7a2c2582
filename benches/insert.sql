-- pgbench reference for posting: one comment insert on a random seeded
-- thread, with the triggers that fill sort_key and bump threads.comment_count
-- and paragraph_counts (autocommit, no row locks or access check of its own).
-- :author is set with -D by run.sh.
\set t random(0, 9999)
INSERT INTO comments (id, thread_id, depth, sort_key, author_id, body)
VALUES (gen_random_uuid(), ('00000000-0000-7000-9000-' || lpad(:t::text, 12, '0'))::uuid, 0, '', :author,
        'A pgbench comment on why revolutions end as they do.');
