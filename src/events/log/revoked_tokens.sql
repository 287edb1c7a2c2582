-- Of the tokens signed-in readers hold ($1 their users, $2 the versions,
-- pairwise), those that no longer work: the user is gone or has another
-- token_version (the test of r.caller_access).
SELECT h.user_id, h.version
  FROM unnest($1::uuid[], $2::int4[]) AS h(user_id, version)
 WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = h.user_id AND u.token_version = h.version)
