-- How many items reader $1's digest of rhythm $2 for the period ending $3 listed.
UPDATE notification_digests SET items = $4, sent_at = now()
 WHERE user_id = $1 AND rhythm = $2 AND period_end = $3
