-- The comments posted in the log range ($1, $2] .. ($3, $4]: who is told,
-- folded into one item per recipient and thread.
--
-- Work is per (recipient, thread), never per (recipient, comment): a round
-- of 500 comments in a thread 2,000 people watch is 2,000 items to write,
-- not a million rows. Replies and mentions (a few recipients a comment) are
-- found per comment; watchers per thread. A recipient whose level for the
-- thread is `watching` is told of every comment in it but their own and
-- those of anyone they blocked; at `normal`, of the replies to them and the
-- mentions of them (not by anyone they blocked); at `muted`, of nothing
-- here. An item takes in a thread's comments only when they are newer than
-- what it holds (its comments_* position), so deriving a range again adds
-- nothing.
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
), by_thread AS (
    SELECT p.thread_id, min(p.group_id::text)::uuid AS group_id, min(p.session_id::text)::uuid AS session_id,
           min(p.paragraph_id::text)::uuid AS paragraph_id,
           (array_agg(p.xid ORDER BY p.xid DESC, p.event_id DESC))[1] AS comments_xid,
           (array_agg(p.event_id ORDER BY p.xid DESC, p.event_id DESC))[1] AS comments_id
      FROM post p
     GROUP BY p.thread_id
), by_author AS (
    -- Each author's comments of the range in a thread: what a watcher is told
    -- is the sum over the authors they may hear from.
    SELECT p.thread_id, p.author_id, count(*) AS n, max(p.seq) AS latest_seq,
           (array_agg(p.comment_id ORDER BY p.seq DESC))[1] AS latest_comment_id
      FROM post p
     GROUP BY p.thread_id, p.author_id
), direct AS (
    -- Per comment, whom it answers or names.
    SELECT p.thread_id, p.xid, p.event_id, p.comment_id, p.seq, p.author_id, pc.author_id AS recipient,
           'reply' AS reason
      FROM post p JOIN comments pc ON pc.id = p.parent_id
    UNION ALL
    SELECT p.thread_id, p.xid, p.event_id, p.comment_id, p.seq, p.author_id, p.thread_author, 'reply' FROM post p
    UNION ALL
    -- Decided when the comment was written (src/notifications/mentions.rs).
    SELECT p.thread_id, p.xid, p.event_id, p.comment_id, p.seq, p.author_id, m.user_id, 'mention'
      FROM post p JOIN comment_mentions m ON m.comment_id = p.comment_id
), direct_item AS (
    SELECT d.recipient, d.thread_id,
           (ARRAY['mention', 'reply'])[min(array_position(ARRAY['mention', 'reply'], d.reason))] AS reason,
           count(DISTINCT d.event_id)::integer AS new_count,
           max(d.seq) AS latest_seq,
           (array_agg(d.comment_id ORDER BY d.seq DESC))[1] AS latest_comment_id,
           array_agg(DISTINCT d.author_id) AS actor_ids
      FROM direct d
     WHERE d.recipient <> d.author_id
       -- Someone the recipient blocked tells them nothing.
       AND NOT EXISTS (SELECT 1 FROM blocks bl WHERE bl.blocker_id = d.recipient AND bl.blocked_id = d.author_id)
     GROUP BY d.recipient, d.thread_id
), pair AS (
    -- Everyone who may be told of a thread: its direct recipients and whoever
    -- watches it or a scope around it.
    SELECT recipient, thread_id FROM direct_item
    UNION
    SELECT w.user_id, b.thread_id
      FROM by_thread b
      JOIN watches w ON w.level = 'watching' AND (
           (w.scope = 'thread' AND w.scope_id = b.thread_id)
        OR (w.scope = 'paragraph' AND w.scope_id = b.paragraph_id AND w.in_session = b.session_id)
        OR (w.scope = 'session' AND w.scope_id = b.session_id)
        OR (w.scope = 'group' AND w.scope_id = b.group_id))
), leveled AS (
    -- The most specific level each has set, once per (recipient, thread),
    -- and only in a group the recipient may read now (the rule of
    -- r.caller_access).
    SELECT pr.recipient, b.*, l.level
      FROM pair pr
      JOIN by_thread b ON b.thread_id = pr.thread_id
      JOIN groups g ON g.id = b.group_id
      LEFT JOIN memberships m ON m.group_id = b.group_id AND m.user_id = pr.recipient
      CROSS JOIN LATERAL (
          SELECT coalesce(
              (SELECT w.level FROM watches w WHERE w.user_id = pr.recipient AND w.scope = 'thread'
                  AND w.scope_id = b.thread_id AND w.in_session = '00000000-0000-0000-0000-000000000000'),
              (SELECT w.level FROM watches w WHERE w.user_id = pr.recipient AND w.scope = 'paragraph'
                  AND w.scope_id = b.paragraph_id AND w.in_session = b.session_id),
              (SELECT w.level FROM watches w WHERE w.user_id = pr.recipient AND w.scope = 'session'
                  AND w.scope_id = b.session_id AND w.in_session = '00000000-0000-0000-0000-000000000000'),
              (SELECT w.level FROM watches w WHERE w.user_id = pr.recipient AND w.scope = 'group'
                  AND w.scope_id = b.group_id AND w.in_session = '00000000-0000-0000-0000-000000000000'),
              'normal') AS level
      ) l
     WHERE l.level <> 'muted'
       AND (g.visibility = 'public' OR m.role IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM r.live_bans bn WHERE bn.group_id = b.group_id AND bn.user_id = pr.recipient)
       -- A deleted account hears nothing (src/users/deletion.rs).
       AND NOT EXISTS (SELECT 1 FROM users du WHERE du.id = pr.recipient AND du.deleted_at IS NOT NULL)
), watched AS (
    -- A watcher hears every comment but their own and their blocked authors'.
    SELECT lv.recipient, lv.thread_id, sum(a.n)::integer AS new_count, max(a.latest_seq) AS latest_seq,
           (array_agg(a.latest_comment_id ORDER BY a.latest_seq DESC))[1] AS latest_comment_id,
           array_agg(a.author_id) AS actor_ids
      FROM leveled lv
      JOIN by_author a ON a.thread_id = lv.thread_id AND a.author_id <> lv.recipient
     WHERE lv.level = 'watching'
       AND NOT EXISTS (SELECT 1 FROM blocks bl WHERE bl.blocker_id = lv.recipient AND bl.blocked_id = a.author_id)
     GROUP BY lv.recipient, lv.thread_id
), item AS (
    SELECT lv.recipient, lv.thread_id, lv.group_id, lv.session_id, lv.paragraph_id,
           coalesce(d.reason, 'watching') AS reason,
           CASE WHEN lv.level = 'watching' THEN w.latest_comment_id ELSE d.latest_comment_id END AS latest_comment_id,
           CASE WHEN lv.level = 'watching' THEN w.latest_seq ELSE d.latest_seq END AS latest_seq,
           CASE WHEN lv.level = 'watching' THEN w.new_count ELSE d.new_count END AS new_count,
           CASE WHEN lv.level = 'watching' THEN w.actor_ids ELSE d.actor_ids END AS actor_ids,
           lv.comments_xid, lv.comments_id
      FROM leveled lv
      LEFT JOIN direct_item d ON d.recipient = lv.recipient AND d.thread_id = lv.thread_id
      LEFT JOIN watched w ON w.recipient = lv.recipient AND w.thread_id = lv.thread_id
      -- Only what the item has not taken in yet: a repeat changes nothing.
      LEFT JOIN notifications n0 ON n0.recipient_id = lv.recipient AND n0.thread_id = lv.thread_id
     WHERE (CASE WHEN lv.level = 'watching' THEN w.new_count ELSE d.new_count END) > 0
       AND (n0.id IS NULL OR (lv.comments_xid, lv.comments_id) > (n0.comments_xid, n0.comments_id))
), upserted AS (
    INSERT INTO notifications AS n (recipient_id, thread_id, group_id, session_id, paragraph_id, reason,
                                    latest_comment_id, latest_seq, new_count, actor_ids, updated_at,
                                    comments_xid, comments_id, pushed_for)
    SELECT recipient, thread_id, group_id, session_id, paragraph_id, reason, latest_comment_id, latest_seq,
           new_count, actor_ids, now(), comments_xid, comments_id,
           -- Nothing to push to whoever has no subscription (src/notifications/push/).
           CASE WHEN EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = recipient) THEN NULL ELSE now() END
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
        comments_id = EXCLUDED.comments_id,
        pushed_for = CASE WHEN EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = n.recipient_id)
                          THEN n.pushed_for ELSE now() END
    RETURNING n.id, n.recipient_id
)
-- Each item created or changed goes to its recipient's live streams.
INSERT INTO inbox_events (recipient_id, kind, ids)
SELECT recipient_id, 'notification', ARRAY[id] FROM upserted ORDER BY recipient_id, id
