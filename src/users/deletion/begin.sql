-- The 202 of DELETE /me (src/users/deletion.rs `begin`), one statement: $1
-- the user, $2 the token version the request was checked with (no row
-- changes when it moved meanwhile), $3 the pseudonym, $4 whether the words
-- go too, $5 'erase' or 'keep', $6 and $7 the username and address it had.
WITH refused AS (
    -- A banned user's address stays refused while a ban lasts; a hash is
    -- enough to recognise it.
    INSERT INTO refused_addresses (email_hash, user_id)
    SELECT sha256(convert_to(lower($7), 'UTF8')), $1
     WHERE EXISTS (SELECT 1 FROM r.live_bans b WHERE b.user_id = $1)
    ON CONFLICT DO NOTHING
), left_groups AS (
    DELETE FROM memberships WHERE user_id = $1
), job AS (
    INSERT INTO account_deletions (user_id, content, old_username) VALUES ($1, $5, $6)
    ON CONFLICT DO NOTHING
)
UPDATE users
   SET username = $3, display_name = $3, bio = NULL,
       email = id::text || '@deleted.invalid', email_verified_at = NULL,
       password_hash = '', is_admin = false,
       token_version = token_version + 1,
       deleted_at = now(), erased = $4, updated_at = now()
 WHERE id = $1 AND token_version = $2 AND deleted_at IS NULL
