-- One comment as an annotation, if the caller sees it (src/annotations/
-- models.rs `one`): $1 the comment, $2 whether hidden and deleted content
-- is included (moderators).
SELECT c.id, c.parent_id, c.author_id, u.username, u.display_name, c.body, c.created_at, c.edited_at,
       t.paragraph_id, t.title, t.quote_exact, t.quote_start, t.quote_end,
       (SELECT c2.id FROM comments c2 WHERE c2.thread_id = t.id ORDER BY c2.sort_key LIMIT 1) AS first_id,
       coalesce(a.status = 'orphaned', false) AS orphaned, a.quote_prefix, a.quote_suffix,
       r.created_at AS source_date, s.essay_id
  FROM comments c
  JOIN threads t ON t.id = c.thread_id
  JOIN reading_sessions s ON s.id = t.session_id
  JOIN users u ON u.id = c.author_id
  LEFT JOIN thread_anchors a ON a.thread_id = t.id
  -- The revision the quote was last valid in: an orphan's is the one before
  -- the revision that orphaned it.
  LEFT JOIN essay_revisions r ON r.essay_id = s.essay_id
        AND r.revision = CASE WHEN a.status = 'orphaned' THEN greatest(1, a.revision - 1)
                              ELSE coalesce(a.revision, 1) END
 WHERE ($2 OR r.counts(c.hidden, c.deleted, t.hidden)) AND NOT u.erased
   AND c.id = $1
