DROP INDEX notifications_push_due_idx;
ALTER TABLE notifications
    DROP COLUMN push_retry,
    DROP COLUMN push_attempts,
    DROP COLUMN push_not_before,
    DROP COLUMN pushed_for;
DROP TABLE push_subscriptions;
