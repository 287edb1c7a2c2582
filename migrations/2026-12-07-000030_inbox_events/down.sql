DELETE FROM event_watermarks WHERE name = 'inbox_pruned';
DELETE FROM event_tickets WHERE session_id IS NULL;
ALTER TABLE event_tickets ALTER COLUMN session_id SET NOT NULL;
DROP TABLE inbox_events;
