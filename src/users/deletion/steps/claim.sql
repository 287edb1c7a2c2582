-- The oldest unfinished deletion no other instance is working on, locked
-- for the batch's transaction (src/users/deletion/job.rs): the lock is
-- what makes one instance at a time work on one account.
SELECT user_id, content, old_username, mentions_after
  FROM account_deletions
 WHERE done_at IS NULL
 ORDER BY requested_at
 LIMIT 1
   FOR UPDATE SKIP LOCKED
