-- pgbench reference (a) for GET /sessions/{id}/counts: the bare data of the
-- answer, a random seeded session's paragraphs joined with their counters,
-- without the access check the server adds.
\set n random(1, 999)
SELECT p.id, p.position, pc.thread_count, pc.comment_count
  FROM reading_sessions s
  JOIN paragraphs p ON p.essay_id = s.essay_id
  LEFT JOIN paragraph_counts pc ON pc.session_id = s.id AND pc.paragraph_id = p.id
 WHERE s.id = ('00000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid
 ORDER BY p.position;
