-- Serialises the exports user $1 asks for (until the transaction ends), so
-- two requests at once cannot both pass the one-a-day check.
SELECT pg_advisory_xact_lock(hashtext('personal_exports'), hashtext($1::text)) IS NOT NULL AS locked
