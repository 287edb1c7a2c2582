INSERT INTO thread_anchors (thread_id) VALUES ($1) ON CONFLICT DO NOTHING
