-- pgbench reference for posting on one hot paragraph: the bare insert of
-- insert.sql on the 16 threads of paragraph 5 of the first session, whose
-- counter row every insert updates (the row lock is the limit).
\set t random(0, 15)
INSERT INTO comments (id, thread_id, depth, sort_key, author_id, body)
VALUES (gen_random_uuid(), ('00000000-0000-7000-9001-' || lpad(:t::text, 12, '0'))::uuid, 0, '', :author,
        'A pgbench comment on why revolutions end as they do.');
