-- Who wrote what in session $1, by the counting rule (r.counts): one pass
-- over the counted comments grouped by (paragraph, author, UTC hour), a
-- small set however many comments there are, then from it per (paragraph,
-- author) the comments and the latest one (`hour` NULL), and per hour the
-- comments (`author_id` NULL); then per (paragraph, author) the counted
-- threads started (`threads` not NULL). (Grouping the comments by both
-- sets at once made PostgreSQL sort them all by hour: half again slower at
-- 100,000 comments.)
WITH per AS (
    SELECT t.paragraph_id, c.author_id, date_trunc('hour', c.created_at) AS hour,
           count(*) AS n, max(c.created_at) AS last_at
      FROM threads t
      JOIN comments c ON c.thread_id = t.id
     WHERE t.session_id = $1 AND r.counts(c.hidden, c.deleted, t.hidden)
     GROUP BY t.paragraph_id, c.author_id, date_trunc('hour', c.created_at))
SELECT paragraph_id, author_id, NULL::timestamptz AS hour, sum(n)::integer AS comments,
       NULL::integer AS threads, max(last_at) AS last_at
  FROM per GROUP BY paragraph_id, author_id
UNION ALL
SELECT NULL, NULL, hour, sum(n)::integer, NULL, max(last_at) FROM per GROUP BY hour
UNION ALL
SELECT t.paragraph_id, t.author_id, NULL, 0, count(*)::integer, max(t.created_at)
  FROM threads t
 WHERE t.session_id = $1 AND r.counts(t.hidden, false, false)
 GROUP BY t.paragraph_id, t.author_id
