-- Session $1's open questions (question threads that count, with no
-- accepted answer that counts), most votes first, $2 at most, each with
-- its title or else its first counted comment, and how many there are.
SELECT t.id AS thread_id, coalesce(t.title, first.body) AS title, p.position, t.vote_count,
       count(*) OVER () AS total
  FROM threads t
  JOIN paragraphs p ON p.id = t.paragraph_id
  LEFT JOIN LATERAL (SELECT c.body FROM comments c
                      WHERE c.thread_id = t.id AND c.parent_id IS NULL
                        AND r.counts(c.hidden, c.deleted, false)
                      ORDER BY c.seq LIMIT 1) first ON true
 WHERE t.session_id = $1 AND t.kind = 'question' AND r.counts(t.hidden, false, false)
   AND t.answer_count = 0
 ORDER BY t.vote_count DESC, t.created_at, t.id
 LIMIT $2
