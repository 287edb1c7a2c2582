-- How far the rewriting of mentions of deletion $1 got.
UPDATE account_deletions SET mentions_after = $2 WHERE user_id = $1
