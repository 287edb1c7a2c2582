-- Chunk $3 of attempt $2 at export $1.
INSERT INTO personal_export_chunks (export_id, claim, seq, data) VALUES ($1, $2, $3, $4)
