-- Every comment user $1 wrote (a thread's first comment is the thread),
-- for the personal export (src/users/exports/): after comment $2 in comment
-- id order, $3 rows. Hidden ones too (the words are still the user's);
-- deleted ones are gone. The page's ids come first, from the author index
-- in order, so a batch reads its own rows only, however many the author has.
WITH page AS MATERIALIZED (
    SELECT c.id
      FROM comments c
     WHERE c.author_id = $1 AND NOT c.deleted AND c.id > $2
     ORDER BY c.id
     LIMIT $3
)
SELECT c.id, c.parent_id, c.author_id, u.username, u.display_name, c.body, c.created_at, c.edited_at,
       t.paragraph_id, t.title, t.quote_exact, t.quote_start, t.quote_end,
       (SELECT c2.id FROM comments c2 WHERE c2.thread_id = t.id ORDER BY c2.sort_key LIMIT 1) AS first_id,
       coalesce(a.status = 'orphaned', false) AS orphaned, a.quote_prefix, a.quote_suffix,
       r.created_at AS source_date, s.essay_id
  FROM page
  JOIN comments c ON c.id = page.id
  JOIN threads t ON t.id = c.thread_id
  JOIN reading_sessions s ON s.id = t.session_id
  JOIN users u ON u.id = c.author_id
  LEFT JOIN thread_anchors a ON a.thread_id = t.id
  -- The revision the quote was last valid in, as in the session export.
  LEFT JOIN essay_revisions r ON r.essay_id = s.essay_id
        AND r.revision = CASE WHEN a.status = 'orphaned' THEN greatest(1, a.revision - 1)
                              ELSE coalesce(a.revision, 1) END
 ORDER BY c.id
