DROP INDEX session_events_access_idx;
