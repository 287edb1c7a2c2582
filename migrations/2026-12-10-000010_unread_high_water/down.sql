DROP TABLE paragraph_reads;
ALTER TABLE thread_reads DROP COLUMN below;
