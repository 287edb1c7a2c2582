-- A public group's calendar: group $1's name and its sessions (at most $2,
-- latest start first), one row with NULL session columns when it has none.
-- No row for a group that does not exist or is not public.
SELECT g.name AS group_name, s.id AS session_id, s.title, s.starts_at, s.ends_at,
       s.calendar_sequence AS sequence
  FROM groups g
  LEFT JOIN LATERAL (SELECT rs.id, rs.title, rs.starts_at, rs.ends_at, rs.calendar_sequence
                       FROM reading_sessions rs WHERE rs.group_id = g.id
                      ORDER BY rs.starts_at DESC, rs.id DESC LIMIT $2) s ON true
 WHERE g.id = $1 AND g.visibility = 'public'
