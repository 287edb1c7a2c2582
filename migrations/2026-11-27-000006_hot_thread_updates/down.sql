ALTER TABLE paragraph_counts RESET (fillfactor);
ALTER TABLE threads RESET (fillfactor);
DROP INDEX threads_paragraph_idx;
DROP INDEX threads_session_idx;
CREATE INDEX threads_session_idx ON threads (session_id, pinned DESC, last_activity_at DESC, id DESC);
CREATE INDEX threads_paragraph_idx ON threads (session_id, paragraph_id, pinned DESC, last_activity_at DESC, id DESC);
