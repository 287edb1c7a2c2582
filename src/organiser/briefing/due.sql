-- Organisers due a briefing at $1: the sessions (not closed) starting after
-- $1 and at most $2 hours later, and each organiser or owner of the group
-- with a verified address, notification mail not off and briefings on, not
-- banned there and not yet briefed on that session. At most $3 pairs.
SELECT s.id AS session_id, m.user_id
  FROM reading_sessions s
  JOIN memberships m ON m.group_id = s.group_id AND m.role IN ('organiser', 'owner')
  JOIN users u ON u.id = m.user_id AND u.email_verified_at IS NOT NULL
  LEFT JOIN notification_settings ns ON ns.user_id = u.id
 WHERE s.starts_at > $1
   AND s.starts_at <= $1 + make_interval(hours => $2)
   AND s.status <> 'closed'
   AND coalesce(ns.email, 'immediate') <> 'off'
   AND coalesce(ns.briefing, true)
   AND NOT EXISTS (SELECT 1 FROM r.live_bans b WHERE b.group_id = s.group_id AND b.user_id = m.user_id)
   AND NOT EXISTS (SELECT 1 FROM session_briefings sb WHERE sb.session_id = s.id AND sb.user_id = m.user_id)
 ORDER BY s.starts_at, s.id, m.user_id
 LIMIT $3
