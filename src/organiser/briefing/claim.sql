-- Claims organiser $2's briefing on session $1 (due at $3, with the lead of
-- $4 hours) and returns what its mail needs, if it is still due: the
-- conditions of due.sql, checked again. The key is unique: of two
-- instances claiming it at once the second waits for the first's
-- transaction and then gets nothing (or claims it, had the first rolled
-- back because its mail was not sent).
WITH me AS (
    SELECT u.id AS user_id, u.email, u.display_name, s.id AS session_id, s.title AS session_title,
           s.starts_at, g.name AS group_name, e.title AS essay_title
      FROM reading_sessions s
      JOIN groups g ON g.id = s.group_id
      JOIN essays e ON e.id = s.essay_id
      JOIN memberships m ON m.group_id = s.group_id AND m.user_id = $2 AND m.role IN ('organiser', 'owner')
      JOIN users u ON u.id = m.user_id AND u.email_verified_at IS NOT NULL
      LEFT JOIN notification_settings ns ON ns.user_id = u.id
     WHERE s.id = $1
       AND s.starts_at > $3
       AND s.starts_at <= $3 + make_interval(hours => $4)
       AND s.status <> 'closed'
       AND coalesce(ns.email, 'immediate') <> 'off'
       AND coalesce(ns.briefing, true)
       AND NOT EXISTS (SELECT 1 FROM r.live_bans b WHERE b.group_id = s.group_id AND b.user_id = u.id)
), claimed AS (
    INSERT INTO session_briefings (session_id, user_id)
    SELECT session_id, user_id FROM me
    ON CONFLICT DO NOTHING
    RETURNING user_id
)
SELECT me.email, me.display_name, me.session_title, me.starts_at, me.group_name, me.essay_title
  FROM me JOIN claimed ON claimed.user_id = me.user_id
