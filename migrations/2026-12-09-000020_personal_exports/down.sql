DROP TABLE personal_export_chunks;
DROP TABLE personal_exports;
