-- Item $1 was mailed as of its seq $2: no further mail until its recipient
-- has read up to that seq.
INSERT INTO notification_mails (notification_id, mailed_seq) VALUES ($1, $2)
ON CONFLICT (notification_id) DO UPDATE SET mailed_seq = EXCLUDED.mailed_seq, mailed_at = now()
