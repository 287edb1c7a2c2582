-- Whether address $1 belonged to a deleted account that is still banned
-- somewhere (src/users/deletion.rs `address_refused`).
SELECT EXISTS (
    SELECT 1
      FROM refused_addresses a
      JOIN r.live_bans b ON b.user_id = a.user_id
     WHERE a.email_hash = sha256(convert_to(lower($1), 'UTF8'))
) AS refused
