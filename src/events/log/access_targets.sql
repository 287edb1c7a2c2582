SELECT DISTINCT target_user_id FROM session_events
  WHERE session_id = $1 AND kind = 'access.changed' AND (xid, id) > ($2, $3) LIMIT 100
