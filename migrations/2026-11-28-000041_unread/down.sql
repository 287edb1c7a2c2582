DROP TABLE thread_reads;
DROP INDEX comments_unread_idx;
ALTER TABLE comments DROP COLUMN seq CASCADE;
