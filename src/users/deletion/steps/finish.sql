-- Deletion $1 is done; the old username goes with it.
UPDATE account_deletions SET done_at = now(), old_username = NULL, mentions_after = NULL WHERE user_id = $1
