-- Session $1's most discussed current paragraphs (most counted comments,
-- then threads, then essay order), $2 at most, from the counters the
-- triggers keep; with the session's totals (`/counts`' numbers, orphans
-- included).
WITH totals AS (
    SELECT coalesce(sum(thread_count), 0)::bigint AS threads,
           coalesce(sum(comment_count), 0)::bigint AS comments
      FROM paragraph_counts WHERE session_id = $1)
SELECT totals.threads AS total_threads, totals.comments AS total_comments,
       top.position, top.text, top.thread_count, top.comment_count
  FROM totals
  LEFT JOIN LATERAL (
    SELECT p.position, p.text, pc.thread_count, pc.comment_count
      FROM reading_sessions s
      JOIN paragraphs p ON p.essay_id = s.essay_id AND p.retired_in IS NULL
      JOIN paragraph_counts pc ON pc.session_id = s.id AND pc.paragraph_id = p.id
     WHERE s.id = $1 AND pc.thread_count > 0
     ORDER BY pc.comment_count DESC, pc.thread_count DESC, p.position
     LIMIT $2) top ON true
