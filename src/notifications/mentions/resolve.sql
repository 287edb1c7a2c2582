-- The names of a comment by $2 in thread $1 ($3, as written): each one's
-- user, whether they may read the thread's group (the access policy's rule,
-- r.caller_access, with their own token version), and whether they blocked
-- the author. Names nobody has (a deleted account's pseudonym included)
-- come back with a null user.
SELECT n.name, u.id AS user_id, u.username, coalesce(ca.readable, false) AS readable,
       EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $2) AS blocks_author
  FROM unnest($3::text[]) WITH ORDINALITY AS n (name, ord)
  LEFT JOIN users u ON lower(u.username) = lower(n.name) AND u.deleted_at IS NULL
  LEFT JOIN LATERAL (
      SELECT ca.readable
        FROM threads t
        JOIN reading_sessions s ON s.id = t.session_id
       CROSS JOIN LATERAL r.caller_access(s.group_id, u.id, u.token_version) ca
       WHERE t.id = $1
  ) ca ON u.id IS NOT NULL
 ORDER BY n.ord
