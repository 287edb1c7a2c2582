-- Triggers and their functions move to src/db/replaceable/triggers.sql,
-- which is applied right after this migration in the same transaction
-- (src/db/migrate.rs), so no write ever lands between the two uncounted.
-- From here on migrations change tables only; trigger bodies change there.
DROP TRIGGER comments_sort_key ON comments;
DROP TRIGGER comments_counted_insert ON comments;
DROP TRIGGER comments_counted_update ON comments;
DROP TRIGGER threads_counted_insert ON threads;
DROP TRIGGER threads_counted_update ON threads;
DROP FUNCTION pilcrow_comment_sort_key();
DROP FUNCTION pilcrow_comment_counted();
DROP FUNCTION pilcrow_thread_counted();
DROP FUNCTION pilcrow_bump_paragraph(uuid, uuid, integer, integer);
