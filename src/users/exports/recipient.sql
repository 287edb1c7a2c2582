-- Where to tell user $1 that their export is ready: the address only when
-- it is verified.
SELECT CASE WHEN u.email_verified_at IS NOT NULL THEN u.email END AS email, u.display_name
  FROM users u
 WHERE u.id = $1
