-- Reader $1's items whose activity falls in [$2, $3) and that are still
-- unread, in threads they may see now, ordered by group, session and
-- paragraph; at most $4, with how many there are in all.
SELECT n.group_id, g.name AS group_name, n.session_id, s.title AS session_title,
       n.paragraph_id, p.position AS paragraph_position, p.text AS paragraph_text,
       -- Untitled: the opening comment's words (if visible), or the quote.
       n.thread_id, coalesce(t.title, (SELECT left(fc.body, 120) FROM comments fc WHERE fc.thread_id = t.id AND NOT fc.hidden AND NOT fc.deleted ORDER BY fc.seq LIMIT 1),
                             left(t.quote_exact, 120), 'a thread') AS thread_title,
       n.reason, n.new_count, n.latest_comment_id,
       count(*) OVER () AS total
  FROM notifications n
  JOIN groups g ON g.id = n.group_id
  JOIN reading_sessions s ON s.id = n.session_id
  JOIN threads t ON t.id = n.thread_id
  LEFT JOIN paragraphs p ON p.id = n.paragraph_id
  LEFT JOIN thread_reads r ON r.user_id = n.recipient_id AND r.session_id = n.session_id
                          AND r.thread_id = n.thread_id
 WHERE n.recipient_id = $1
   AND n.updated_at >= $2 AND n.updated_at < $3
   AND coalesce(r.seq, -1) < n.latest_seq
   AND NOT t.hidden
   AND (g.visibility = 'public'
        OR EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = n.group_id AND m.user_id = n.recipient_id))
   AND NOT EXISTS (SELECT 1 FROM r.live_bans b WHERE b.group_id = n.group_id AND b.user_id = n.recipient_id)
 ORDER BY g.name, n.group_id, s.starts_at, n.session_id, p.position NULLS LAST, n.paragraph_id, n.updated_at DESC
 LIMIT $4
