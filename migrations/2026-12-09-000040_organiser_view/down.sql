DROP TABLE calendar_feeds;
ALTER TABLE notification_settings DROP COLUMN briefing;
DROP INDEX reading_sessions_starts_at_idx;
DROP TABLE session_briefings;
ALTER TABLE reading_sessions DROP COLUMN calendar_sequence;
