-- One notifier at a time across instances: the others skip this round.
SELECT xid, id FROM notifier_cursor WHERE name = 'notifications' FOR UPDATE SKIP LOCKED
