-- What earlier attempts at export $1 wrote before they stopped: only
-- attempt $2's chunks make the archive.
DELETE FROM personal_export_chunks WHERE export_id = $1 AND claim <> $2
