INSERT INTO thread_anchors (thread_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING
