-- Who wrote what in session $1, by the counting rule (r.counts): in one
-- pass over the counted comments, per (paragraph, author) the comments and
-- the latest one (`hour` NULL), and per UTC hour the comments (`author_id`
-- NULL); then per (paragraph, author) the counted threads started
-- (`threads` not NULL).
SELECT t.paragraph_id, c.author_id, date_trunc('hour', c.created_at) AS hour,
       count(*)::integer AS comments, NULL::integer AS threads, max(c.created_at) AS last_at
  FROM threads t
  JOIN comments c ON c.thread_id = t.id
 WHERE t.session_id = $1 AND r.counts(c.hidden, c.deleted, t.hidden)
 GROUP BY GROUPING SETS ((t.paragraph_id, c.author_id), (date_trunc('hour', c.created_at)))
UNION ALL
SELECT t.paragraph_id, t.author_id, NULL, 0, count(*)::integer, max(t.created_at)
  FROM threads t
 WHERE t.session_id = $1 AND r.counts(t.hidden, false, false)
 GROUP BY t.paragraph_id, t.author_id
