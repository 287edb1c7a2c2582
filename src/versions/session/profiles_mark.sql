-- The `profiles` watermark: it names the organiser's report, which shows
-- participants (src/versions/session.rs `begin`).
SELECT xid, id FROM event_watermarks WHERE name = 'profiles'
