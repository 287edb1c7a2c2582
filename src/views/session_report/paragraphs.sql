-- The report's paragraphs: every paragraph of session $1's essay in order,
-- then the retired ones that still hold counted threads (the orphans),
-- each with the counters the triggers keep (src/db/replaceable/
-- triggers.sql) and its counted question threads (threads, not comments,
-- are scanned: a session holds far fewer of them).
SELECT p.id AS paragraph_id, p.position, p.text, p.retired_in IS NOT NULL AS retired,
       coalesce(pc.thread_count, 0) AS thread_count,
       coalesce(pc.comment_count, 0) AS comment_count,
       coalesce(pc.open_question_count, 0) AS open_question_count,
       coalesce(q.n, 0)::integer AS question_count
  FROM reading_sessions rs
  JOIN paragraphs p ON p.essay_id = rs.essay_id
  LEFT JOIN paragraph_counts pc ON pc.session_id = rs.id AND pc.paragraph_id = p.id
  LEFT JOIN (SELECT t.paragraph_id, count(*) AS n
               FROM threads t
              WHERE t.session_id = $1 AND t.kind = 'question' AND r.counts(t.hidden, false, false)
              GROUP BY t.paragraph_id) q ON q.paragraph_id = p.id
 WHERE rs.id = $1
   AND (p.retired_in IS NULL OR pc.thread_count > 0)
 ORDER BY p.retired_in IS NOT NULL, p.position
