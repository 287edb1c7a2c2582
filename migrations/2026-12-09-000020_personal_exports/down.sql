DROP INDEX IF EXISTS comments_by_author_idx;
DROP TABLE personal_export_chunks;
DROP TABLE personal_exports;
