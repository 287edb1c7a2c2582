DROP TABLE event_tickets;
DROP TABLE event_watermarks;
DROP TABLE session_events;
