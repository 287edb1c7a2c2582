DROP INDEX threads_title_search_idx;
DROP INDEX comments_search_idx;
ALTER TABLE comments DROP COLUMN search;
