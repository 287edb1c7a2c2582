-- The comments posted in the log range ($1, $2] .. ($3, $4]: who is told
-- (replied to, named, watching),
-- once per recipient and event (an item takes in only events after its
-- comments_* position), folded into one item per recipient and thread.
WITH post AS (
    SELECT e.xid, e.id AS event_id, c.id AS comment_id, c.seq, c.author_id, c.parent_id,
           t.id AS thread_id, t.author_id AS thread_author, t.session_id, t.paragraph_id, s.group_id
      FROM session_events e
      JOIN comments c ON c.id = e.comment_id
      JOIN threads t ON t.id = c.thread_id
      JOIN reading_sessions s ON s.id = t.session_id
     WHERE e.kind = 'comment.created' AND (e.xid, e.id) > ($1, $2) AND (e.xid, e.id) <= ($3, $4)
       -- Nobody is told of content they cannot see.
       AND NOT c.hidden AND NOT c.deleted AND NOT t.hidden
), candidate AS (
    SELECT p.*, pc.author_id AS recipient, 'reply' AS reason
      FROM post p JOIN comments pc ON pc.id = p.parent_id
    UNION ALL
    SELECT p.*, p.thread_author, 'reply' FROM post p
    UNION ALL
    -- Decided when the comment was written (src/notifications/mentions.rs).
    SELECT p.*, m.user_id, 'mention' FROM post p JOIN comment_mentions m ON m.comment_id = p.comment_id
    UNION ALL
    SELECT p.*, w.user_id, 'watching'
      FROM post p
      JOIN watches w ON w.level = 'watching' AND (
           (w.scope = 'thread' AND w.scope_id = p.thread_id)
        OR (w.scope = 'paragraph' AND w.scope_id = p.paragraph_id AND w.in_session = p.session_id)
        OR (w.scope = 'session' AND w.scope_id = p.session_id)
        OR (w.scope = 'group' AND w.scope_id = p.group_id))
), told AS (
    -- Per recipient and event, the strongest reason that their level lets through.
    SELECT DISTINCT ON (c.recipient, c.xid, c.event_id) c.*
      FROM candidate c
      CROSS JOIN LATERAL (
          SELECT coalesce(
              (SELECT w.level FROM watches w WHERE w.user_id = c.recipient AND w.scope = 'thread'
                  AND w.scope_id = c.thread_id AND w.in_session = '00000000-0000-0000-0000-000000000000'),
              (SELECT w.level FROM watches w WHERE w.user_id = c.recipient AND w.scope = 'paragraph'
                  AND w.scope_id = c.paragraph_id AND w.in_session = c.session_id),
              (SELECT w.level FROM watches w WHERE w.user_id = c.recipient AND w.scope = 'session'
                  AND w.scope_id = c.session_id AND w.in_session = '00000000-0000-0000-0000-000000000000'),
              (SELECT w.level FROM watches w WHERE w.user_id = c.recipient AND w.scope = 'group'
                  AND w.scope_id = c.group_id AND w.in_session = '00000000-0000-0000-0000-000000000000'),
              'normal') AS level
      ) l
      JOIN groups g ON g.id = c.group_id
      LEFT JOIN memberships m ON m.group_id = c.group_id AND m.user_id = c.recipient
     WHERE c.recipient <> c.author_id
       -- Someone the recipient blocked tells them nothing.
       AND NOT EXISTS (SELECT 1 FROM blocks bl WHERE bl.blocker_id = c.recipient AND bl.blocked_id = c.author_id)
       AND (l.level = 'watching' OR (l.level = 'normal' AND c.reason <> 'watching'))
       -- Only in a group the recipient may read now (the rule of r.caller_access).
       AND (g.visibility = 'public' OR m.role IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM r.live_bans b WHERE b.group_id = c.group_id AND b.user_id = c.recipient)
     ORDER BY c.recipient, c.xid, c.event_id,
              array_position(ARRAY['moderation', 'mention', 'reply', 'answer_accepted', 'reanchored', 'watching'],
                             c.reason)
), item AS (
    SELECT t.recipient, t.thread_id,
           (array_agg(t.group_id))[1] AS group_id,
           (array_agg(t.session_id))[1] AS session_id,
           (array_agg(t.paragraph_id ORDER BY t.seq DESC))[1] AS paragraph_id,
           (ARRAY['moderation', 'mention', 'reply', 'answer_accepted', 'reanchored', 'watching'])[
               min(array_position(ARRAY['moderation', 'mention', 'reply', 'answer_accepted', 'reanchored',
                                        'watching'], t.reason))] AS reason,
           (array_agg(t.comment_id ORDER BY t.seq DESC))[1] AS latest_comment_id,
           max(t.seq) AS latest_seq,
           count(*)::integer AS new_count,
           array_agg(DISTINCT t.author_id) AS actor_ids,
           (array_agg(t.xid ORDER BY t.xid DESC, t.event_id DESC))[1] AS comments_xid,
           (array_agg(t.event_id ORDER BY t.xid DESC, t.event_id DESC))[1] AS comments_id
      FROM told t
      -- Only what the item has not taken in yet: a repeat changes nothing.
      LEFT JOIN notifications n0 ON n0.recipient_id = t.recipient AND n0.thread_id = t.thread_id
     WHERE n0.id IS NULL OR (t.xid, t.event_id) > (n0.comments_xid, n0.comments_id)
     GROUP BY t.recipient, t.thread_id
), upserted AS (
    INSERT INTO notifications AS n (recipient_id, thread_id, group_id, session_id, paragraph_id, reason,
                                    latest_comment_id, latest_seq, new_count, actor_ids, updated_at,
                                    comments_xid, comments_id)
    SELECT recipient, thread_id, group_id, session_id, paragraph_id, reason, latest_comment_id, latest_seq,
           new_count, actor_ids, now(), comments_xid, comments_id
      FROM item
     ORDER BY recipient, thread_id
    ON CONFLICT (recipient_id, thread_id) DO UPDATE SET
        -- Read (the recipient's mark covers the item): it starts again from
        -- this activity; unread: the strongest reason stays and counts add up.
        reason = CASE
            WHEN EXISTS (SELECT 1 FROM thread_reads r WHERE r.user_id = n.recipient_id
                            AND r.session_id = n.session_id AND r.thread_id = n.thread_id AND r.seq >= n.latest_seq)
              OR array_position(ARRAY['moderation', 'mention', 'reply', 'answer_accepted', 'reanchored', 'watching'],
                                EXCLUDED.reason)
               < array_position(ARRAY['moderation', 'mention', 'reply', 'answer_accepted', 'reanchored', 'watching'],
                                n.reason)
            THEN EXCLUDED.reason ELSE n.reason END,
        new_count = CASE
            WHEN EXISTS (SELECT 1 FROM thread_reads r WHERE r.user_id = n.recipient_id
                            AND r.session_id = n.session_id AND r.thread_id = n.thread_id AND r.seq >= n.latest_seq)
            THEN EXCLUDED.new_count ELSE n.new_count + EXCLUDED.new_count END,
        actor_ids = CASE
            WHEN EXISTS (SELECT 1 FROM thread_reads r WHERE r.user_id = n.recipient_id
                            AND r.session_id = n.session_id AND r.thread_id = n.thread_id AND r.seq >= n.latest_seq)
            THEN EXCLUDED.actor_ids
            ELSE ARRAY(SELECT DISTINCT a FROM unnest(n.actor_ids || EXCLUDED.actor_ids) AS a) END,
        latest_comment_id = CASE WHEN EXCLUDED.latest_seq > n.latest_seq
                                 THEN EXCLUDED.latest_comment_id ELSE n.latest_comment_id END,
        latest_seq = greatest(n.latest_seq, EXCLUDED.latest_seq),
        paragraph_id = EXCLUDED.paragraph_id,
        session_id = EXCLUDED.session_id,
        updated_at = now(),
        comments_xid = EXCLUDED.comments_xid,
        comments_id = EXCLUDED.comments_id
    RETURNING n.id, n.recipient_id
)
-- Each item created or changed goes to its recipient's live streams.
INSERT INTO inbox_events (recipient_id, kind, ids)
SELECT recipient_id, 'notification', ARRAY[id] FROM upserted ORDER BY recipient_id, id
