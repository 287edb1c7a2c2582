SELECT r.emit_event(s.id, 'essay.revised',
       p_detail => jsonb_build_object('essay_id', s.essay_id, 'revision', $2::int4))
  FROM reading_sessions s WHERE s.essay_id = $1
