-- Changes in the log range ($1, $2] .. ($3, $4] that tell one person about
-- their own content: a thread or comment hidden, restored or locked
-- (moderation, even when muted), an answer accepted (its author), a thread
-- moved or orphaned by a revision (its author). Once per recipient and event
-- (an item takes in only events after its changes_* position), folded into
-- the thread's item; they bring no new comment, so the item's latest comment
-- is the thread's.
WITH ev AS (
    SELECT e.xid, e.id AS event_id, e.kind, e.thread_id, e.comment_id, coalesce(e.detail, '{}') AS detail
      FROM session_events e
     WHERE e.kind IN ('thread.removed', 'thread.restored', 'thread.updated', 'comment.updated')
       AND (e.xid, e.id) > ($1, $2) AND (e.xid, e.id) <= ($3, $4)
       AND (e.kind IN ('thread.removed', 'thread.restored') OR e.detail IS NOT NULL)
), candidate AS (
    SELECT ev.xid, ev.event_id, ev.thread_id, t.author_id AS recipient, 'moderation' AS reason,
           t.hidden_by AS actor
      FROM ev JOIN threads t ON t.id = ev.thread_id
     WHERE ev.kind IN ('thread.removed', 'thread.restored') OR ev.detail ? 'locked'
    UNION ALL
    SELECT ev.xid, ev.event_id, ev.thread_id, c.author_id, 'moderation', c.hidden_by
      FROM ev JOIN comments c ON c.id = ev.comment_id
     WHERE ev.kind = 'comment.updated' AND ev.detail ? 'hidden' AND NOT c.deleted
    UNION ALL
    SELECT ev.xid, ev.event_id, ev.thread_id, c.author_id, 'answer_accepted', a.accepted_by
      FROM ev
      JOIN comments c ON c.id = (ev.detail ->> 'answer_accepted')::uuid
      JOIN thread_answers a ON a.thread_id = ev.thread_id AND a.comment_id = c.id
      JOIN threads t ON t.id = ev.thread_id
     WHERE ev.detail ? 'answer_accepted' AND NOT c.hidden AND NOT c.deleted AND NOT t.hidden
    UNION ALL
    SELECT ev.xid, ev.event_id, ev.thread_id, t.author_id, 'reanchored', NULL
      FROM ev JOIN threads t ON t.id = ev.thread_id
     WHERE (ev.detail ? 'reanchored' OR ev.detail ? 'old_paragraph_id') AND NOT t.hidden
), told AS (
    SELECT DISTINCT ON (c.recipient, c.xid, c.event_id)
           c.*, t.session_id, t.paragraph_id, s.group_id, latest.id AS latest_comment_id, latest.seq AS latest_seq
      FROM candidate c
      JOIN threads t ON t.id = c.thread_id
      JOIN reading_sessions s ON s.id = t.session_id
      JOIN groups g ON g.id = s.group_id
      CROSS JOIN LATERAL (SELECT lc.id, lc.seq FROM comments lc WHERE lc.thread_id = c.thread_id
                           ORDER BY lc.seq DESC LIMIT 1) latest
      CROSS JOIN LATERAL (
          SELECT coalesce(
              (SELECT w.level FROM watches w WHERE w.user_id = c.recipient AND w.scope = 'thread'
                  AND w.scope_id = c.thread_id AND w.in_session = '00000000-0000-0000-0000-000000000000'),
              (SELECT w.level FROM watches w WHERE w.user_id = c.recipient AND w.scope = 'paragraph'
                  AND w.scope_id = t.paragraph_id AND w.in_session = t.session_id),
              (SELECT w.level FROM watches w WHERE w.user_id = c.recipient AND w.scope = 'session'
                  AND w.scope_id = t.session_id AND w.in_session = '00000000-0000-0000-0000-000000000000'),
              (SELECT w.level FROM watches w WHERE w.user_id = c.recipient AND w.scope = 'group'
                  AND w.scope_id = s.group_id AND w.in_session = '00000000-0000-0000-0000-000000000000'),
              'normal') AS level
      ) l
      LEFT JOIN memberships m ON m.group_id = s.group_id AND m.user_id = c.recipient
     WHERE c.recipient IS DISTINCT FROM c.actor
       AND (c.reason = 'moderation' OR l.level <> 'muted')
       AND (g.visibility = 'public' OR m.role IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM r.live_bans b WHERE b.group_id = s.group_id AND b.user_id = c.recipient)
       -- A deleted account hears nothing (src/users/deletion.rs).
       AND NOT EXISTS (SELECT 1 FROM users du WHERE du.id = c.recipient AND du.deleted_at IS NOT NULL)
     ORDER BY c.recipient, c.xid, c.event_id,
              array_position(ARRAY['moderation', 'mention', 'reply', 'answer_accepted', 'reanchored', 'watching'],
                             c.reason)
), item AS (
    SELECT t.recipient, t.thread_id,
           (array_agg(t.group_id))[1] AS group_id,
           (array_agg(t.session_id))[1] AS session_id,
           (array_agg(t.paragraph_id))[1] AS paragraph_id,
           (ARRAY['moderation', 'mention', 'reply', 'answer_accepted', 'reanchored', 'watching'])[
               min(array_position(ARRAY['moderation', 'mention', 'reply', 'answer_accepted', 'reanchored',
                                        'watching'], t.reason))] AS reason,
           (array_agg(t.latest_comment_id ORDER BY t.latest_seq DESC))[1] AS latest_comment_id,
           max(t.latest_seq) AS latest_seq,
           -- Moderators act unnamed; whoever accepted an answer is named.
           coalesce(array_agg(DISTINCT t.actor) FILTER (WHERE t.reason = 'answer_accepted' AND t.actor IS NOT NULL),
                    '{}') AS actor_ids,
           (array_agg(t.xid ORDER BY t.xid DESC, t.event_id DESC))[1] AS changes_xid,
           (array_agg(t.event_id ORDER BY t.xid DESC, t.event_id DESC))[1] AS changes_id
      FROM told t
      -- Only what the item has not taken in yet: a repeat changes nothing.
      LEFT JOIN notifications n0 ON n0.recipient_id = t.recipient AND n0.thread_id = t.thread_id
     WHERE n0.id IS NULL OR (t.xid, t.event_id) > (n0.changes_xid, n0.changes_id)
     GROUP BY t.recipient, t.thread_id
), upserted AS (
    INSERT INTO notifications AS n (recipient_id, thread_id, group_id, session_id, paragraph_id, reason,
                                    latest_comment_id, latest_seq, new_count, actor_ids, updated_at,
                                    changes_xid, changes_id, pushed_for)
    SELECT recipient, thread_id, group_id, session_id, paragraph_id, reason, latest_comment_id, latest_seq,
           0, actor_ids, now(), changes_xid, changes_id,
           -- Nothing to push to whoever has no subscription (src/notifications/push/).
           CASE WHEN EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = recipient) THEN NULL ELSE now() END
      FROM item
     ORDER BY recipient, thread_id
    ON CONFLICT (recipient_id, thread_id) DO UPDATE SET
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
            THEN 0 ELSE n.new_count END,
        actor_ids = ARRAY(SELECT DISTINCT a FROM unnest(n.actor_ids || EXCLUDED.actor_ids) AS a),
        latest_comment_id = CASE WHEN EXCLUDED.latest_seq > n.latest_seq
                                 THEN EXCLUDED.latest_comment_id ELSE n.latest_comment_id END,
        latest_seq = greatest(n.latest_seq, EXCLUDED.latest_seq),
        paragraph_id = EXCLUDED.paragraph_id,
        session_id = EXCLUDED.session_id,
        updated_at = now(),
        changes_xid = EXCLUDED.changes_xid,
        changes_id = EXCLUDED.changes_id,
        pushed_for = CASE WHEN EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = n.recipient_id)
                          THEN n.pushed_for ELSE now() END
    RETURNING n.id, n.recipient_id
)
-- Each item created or changed goes to its recipient's live streams.
INSERT INTO inbox_events (recipient_id, kind, ids)
SELECT recipient_id, 'notification', ARRAY[id] FROM upserted ORDER BY recipient_id, id
