-- profile.json: user $1's account as they gave it.
SELECT json_build_object(
           'id', u.id, 'username', u.username, 'email', u.email,
           'email_verified_at', u.email_verified_at, 'display_name', u.display_name, 'bio', u.bio,
           'is_admin', u.is_admin, 'created_at', u.created_at, 'updated_at', u.updated_at)::text AS doc
  FROM users u
 WHERE u.id = $1
