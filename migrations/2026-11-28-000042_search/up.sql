-- Full-text search (src/search/). 'simple' keeps every word as
-- written (lower-cased, no stemming, no stop words): groups read in many
-- languages, and a constant configuration keeps the expression immutable.
-- Comments change rarely (edit, hide, delete), so they carry a stored vector.
ALTER TABLE comments
    ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;
CREATE INDEX comments_search_idx ON comments USING gin (search);
-- Threads are hot rows (every comment bumps one): an expression index on the
-- title instead of a stored column, so no bump recomputes a vector, and the
-- bumps, which never touch the title, stay HOT.
CREATE INDEX threads_title_search_idx ON threads
    USING gin (to_tsvector('simple', coalesce(title, '')));
