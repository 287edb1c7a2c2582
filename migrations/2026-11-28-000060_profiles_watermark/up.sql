-- Moved by every change to what a page of comments shows of its authors
-- (username, display name, bio): those changes append no session event, so
-- a kept page is named by the session's events and this mark together
-- (src/threads/comments.rs). The trigger is in src/db/replaceable/triggers.sql.
INSERT INTO event_watermarks (name, xid, id) VALUES ('profiles', 0, 0);
