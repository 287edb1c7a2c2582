SELECT xid, id FROM event_watermarks WHERE name = 'pruned'
