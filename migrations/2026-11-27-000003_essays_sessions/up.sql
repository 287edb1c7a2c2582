CREATE TABLE essays (
    id         uuid PRIMARY KEY,
    group_id   uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    title      text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 300),
    author     text CHECK (char_length(author) <= 300),
    source_url text CHECK (char_length(source_url) <= 2000),
    license    text CHECK (char_length(license) <= 300),
    format     text NOT NULL CHECK (format IN ('text', 'markdown')),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (group_id, id)
);
CREATE INDEX essays_group_idx ON essays (group_id, created_at DESC, id DESC);

CREATE TABLE paragraphs (
    id       uuid PRIMARY KEY,
    essay_id uuid NOT NULL REFERENCES essays (id) ON DELETE CASCADE,
    position integer NOT NULL CHECK (position >= 0),
    text     text NOT NULL CHECK (text <> ''),
    -- What the block was in a Markdown essay; plain-text essays have only 'paragraph'.
    kind     text NOT NULL DEFAULT 'paragraph' CHECK (kind IN ('paragraph', 'heading', 'list_item', 'quote', 'code')),
    UNIQUE (essay_id, position)
);

CREATE TABLE reading_sessions (
    id         uuid PRIMARY KEY,
    group_id   uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    essay_id   uuid NOT NULL,
    title      text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz CHECK (ends_at IS NULL OR ends_at > starts_at),
    status     text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'open', 'closed')),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The essay must belong to the session's own group.
    FOREIGN KEY (group_id, essay_id) REFERENCES essays (group_id, id) ON DELETE CASCADE
);
CREATE INDEX reading_sessions_group_idx ON reading_sessions (group_id, starts_at DESC, id DESC);

-- Counters per (session, paragraph), kept by the triggers of the threads
-- migration. A missing row means zero.
CREATE TABLE paragraph_counts (
    session_id    uuid NOT NULL REFERENCES reading_sessions (id) ON DELETE CASCADE,
    paragraph_id  uuid NOT NULL REFERENCES paragraphs (id) ON DELETE CASCADE,
    thread_count  integer NOT NULL DEFAULT 0 CHECK (thread_count >= 0),
    comment_count integer NOT NULL DEFAULT 0 CHECK (comment_count >= 0),
    PRIMARY KEY (session_id, paragraph_id)
);
