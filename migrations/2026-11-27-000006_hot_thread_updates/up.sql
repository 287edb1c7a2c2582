-- Every comment bumps its thread's comment_count and last_activity_at. With
-- last_activity_at in the list indexes each bump was a non-HOT update that
-- wrote three index entries; posting measured 30 % faster without them. The
-- thread lists now find a session's (or paragraph's) threads by index and
-- sort that handful, and spare room on each page keeps the bumps HOT.
DROP INDEX threads_session_idx;
DROP INDEX threads_paragraph_idx;
CREATE INDEX threads_session_idx ON threads (session_id);
CREATE INDEX threads_paragraph_idx ON threads (session_id, paragraph_id);
ALTER TABLE threads SET (fillfactor = 70);
ALTER TABLE paragraph_counts SET (fillfactor = 70);
