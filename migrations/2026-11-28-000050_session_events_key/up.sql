-- One index fewer on every event (one per comment posted): the notifier's
-- tail over every session reads in (xid, id) order, so (xid, id) becomes the
-- primary key and serves it, and `id` alone needs no index of its own
-- (nothing looks an event up by id alone; retention deletes by (xid, id)).
ALTER TABLE session_events DROP CONSTRAINT session_events_pkey;
DROP INDEX session_events_tail_idx;
ALTER TABLE session_events ADD CONSTRAINT session_events_pkey PRIMARY KEY (xid, id);
