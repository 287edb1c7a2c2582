-- A reader's settings, or the defaults when none were ever set.
SELECT coalesce(s.email, 'immediate') AS email, coalesce(s.digest, 'daily') AS digest,
       coalesce(s.briefing, true) AS briefing
  FROM (SELECT $1::uuid AS user_id) me
  LEFT JOIN notification_settings s ON s.user_id = me.user_id
