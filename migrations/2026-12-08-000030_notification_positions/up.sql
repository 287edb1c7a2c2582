-- Exactly once at the cost of the items, not of every (recipient, event):
-- each item keeps the log position of the last comment event (comments_*)
-- and of the last change event (changes_*) folded into it, and a
-- derivation adds only events after those. The notifier's cursor moves in
-- the transaction that writes the items, so a range is derived once; the
-- positions make a repeated derivation change nothing even so. They replace
-- a delivery row per recipient and event, which cost a round with 2,000
-- watchers two million rows.
ALTER TABLE notifications
    ADD COLUMN comments_xid bigint NOT NULL DEFAULT 0,
    ADD COLUMN comments_id  bigint NOT NULL DEFAULT 0,
    ADD COLUMN changes_xid  bigint NOT NULL DEFAULT 0,
    ADD COLUMN changes_id   bigint NOT NULL DEFAULT 0;
-- Everything below the notifier's cursor has been derived.
UPDATE notifications n
   SET comments_xid = c.xid, comments_id = c.id, changes_xid = c.xid, changes_id = c.id
  FROM notifier_cursor c WHERE c.name = 'notifications';
DROP TABLE notification_deliveries;
