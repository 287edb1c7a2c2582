SELECT xid, id FROM event_watermarks WHERE name = 'inbox_pruned'
