DROP TABLE thread_reads;
DROP INDEX comments_thread_seq_idx;
ALTER TABLE comments DROP COLUMN seq CASCADE;
