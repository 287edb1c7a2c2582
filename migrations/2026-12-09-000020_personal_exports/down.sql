DELETE FROM inbox_events WHERE kind = 'export.ready';
ALTER TABLE inbox_events
    DROP CONSTRAINT inbox_events_kind_check,
    ADD CONSTRAINT inbox_events_kind_check CHECK (kind IN ('notification', 'notification.read'));
DROP TABLE personal_export_chunks;
DROP TABLE personal_exports;
