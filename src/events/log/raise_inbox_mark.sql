UPDATE event_watermarks SET xid = $1, id = $2, updated_at = now()
  WHERE name = 'inbox_pruned' AND (xid, id) < ($1, $2)
