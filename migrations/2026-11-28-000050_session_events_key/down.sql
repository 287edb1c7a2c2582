ALTER TABLE session_events DROP CONSTRAINT session_events_pkey;
ALTER TABLE session_events ADD CONSTRAINT session_events_pkey PRIMARY KEY (id);
CREATE INDEX session_events_tail_idx ON session_events (xid, id);
