DROP INDEX reports_reporter_idx;
DROP INDEX thread_votes_user_idx;
DROP INDEX threads_author_idx;
DROP INDEX comments_author_idx;
ALTER TABLE comments
    DROP CONSTRAINT comments_body_check,
    ADD CONSTRAINT comments_body_check CHECK (char_length(body) BETWEEN 1 AND 10000) NOT VALID;
DROP TABLE refused_addresses;
DROP TABLE account_deletions;
-- The trigger watching `erased` (src/db/replaceable/triggers.sql) goes
-- first; the rules are applied again after any migration runs.
DROP TRIGGER IF EXISTS users_profiles_changed ON users;
ALTER TABLE users DROP COLUMN erased, DROP COLUMN deleted_at;
