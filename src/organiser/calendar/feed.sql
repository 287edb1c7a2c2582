-- A calendar feed: the sessions of every group whose content the feed's
-- owner may read (a member not banned there), at most $2, latest start
-- first. $1 the SHA-256 of the feed's secret. The feed works only while
-- its owner's token_version is the one it was made under. No row for a
-- feed that does not exist or no longer works; one row with NULL session
-- columns when it works and there is nothing in it.
WITH f AS (
    SELECT f.user_id
      FROM calendar_feeds f
      JOIN users u ON u.id = f.user_id AND u.token_version = f.token_version
     WHERE f.token_hash = $1)
SELECT s.group_name, s.session_id, s.title, s.starts_at, s.ends_at, s.sequence
  FROM f
  LEFT JOIN LATERAL (
    SELECT g.name AS group_name, rs.id AS session_id, rs.title, rs.starts_at, rs.ends_at,
           rs.calendar_sequence AS sequence
      FROM memberships m
      JOIN groups g ON g.id = m.group_id
      JOIN reading_sessions rs ON rs.group_id = g.id
     WHERE m.user_id = f.user_id
       AND NOT EXISTS (SELECT 1 FROM r.live_bans b WHERE b.group_id = g.id AND b.user_id = f.user_id)
     ORDER BY rs.starts_at DESC, rs.id DESC
     LIMIT $2) s ON true
