-- How many annotations the caller sees in the session up to and including
-- comment $3 (the max uuid for all of them): $1 the session, $2 whether
-- hidden and deleted content is included (moderators); as page.sql.
SELECT count(*) AS n
  FROM comments c
  JOIN threads t ON t.id = c.thread_id
  JOIN users u ON u.id = c.author_id
 WHERE t.session_id = $1 AND ($2 OR r.counts(c.hidden, c.deleted, t.hidden)) AND NOT u.erased AND c.id <= $3
