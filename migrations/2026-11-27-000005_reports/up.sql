CREATE TABLE reports (
    id          uuid PRIMARY KEY,
    group_id    uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    comment_id  uuid NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    reporter_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason      text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    outcome     text CHECK (outcome IN ('dismissed', 'actioned')),
    note        text CHECK (char_length(note) <= 2000),
    resolved_by uuid REFERENCES users (id),
    resolved_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'open') = (outcome IS NULL))
);
CREATE UNIQUE INDEX reports_one_open_key ON reports (comment_id, reporter_id) WHERE status = 'open';
CREATE INDEX reports_queue_idx ON reports (group_id, status, created_at, id);
