-- Personal data exports ("download my data"), built by a background job on
-- whichever instance claims them (src/users/exports/).
CREATE TABLE personal_exports (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'failed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- The build's lease: the attempt that holds it, and until when. An
    -- attempt whose lease ran out (its instance died) is taken over by the
    -- next instance that looks; the old attempt's chunks are then ignored
    -- and deleted.
    claim       uuid,
    lease_until timestamptz,
    attempts    integer NOT NULL DEFAULT 0,
    finished_at timestamptz,
    -- Ready: when the download stops working and retention deletes the row.
    expires_at  timestamptz,
    size_bytes  bigint,
    CHECK (status <> 'ready' OR (claim IS NOT NULL AND expires_at IS NOT NULL))
);
CREATE INDEX personal_exports_by_user ON personal_exports (user_id, created_at DESC);
CREATE INDEX personal_exports_pending ON personal_exports (created_at) WHERE status = 'pending';

-- The archive, in the order it was written: every instance reaches the
-- database, not another instance's disk, so any of them serves the download.
CREATE TABLE personal_export_chunks (
    export_id uuid NOT NULL REFERENCES personal_exports (id) ON DELETE CASCADE,
    claim     uuid NOT NULL,
    seq       integer NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (export_id, claim, seq)
);
-- Zip data is compressed already: TOAST stores it as it is.
ALTER TABLE personal_export_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- The export's annotations are read in keyset batches by author through
-- comments_author_idx (author_id, id), made for account deletion.

-- A ready export is announced on its owner's live inbox (`export.ready`).
ALTER TABLE inbox_events
    DROP CONSTRAINT inbox_events_kind_check,
    ADD CONSTRAINT inbox_events_kind_check CHECK (kind IN ('notification', 'notification.read', 'export.ready'));
