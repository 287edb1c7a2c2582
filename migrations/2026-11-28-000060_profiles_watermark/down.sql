DELETE FROM event_watermarks WHERE name = 'profiles';
