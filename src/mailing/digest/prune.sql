-- Keys of periods long past (a round only ever claims the latest period).
DELETE FROM notification_digests WHERE period_end < now() - interval '35 days'
