-- Readers look for access changes that committed after the events they are
-- about to receive (src/events/log.rs, `settled_after`): a few rows among
-- a session's many events.
CREATE INDEX session_events_access_idx ON session_events (session_id, xid, id)
    WHERE kind = 'access.changed';
