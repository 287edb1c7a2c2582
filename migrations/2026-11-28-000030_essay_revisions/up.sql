-- Essays can be revised (src/essays/revisions.rs). Paragraphs are never
-- deleted any more: a paragraph that leaves the text is *retired*
-- (`retired_in`), keeping its threads and counter rows, and its text as of
-- every revision is kept in paragraph_versions. Threads remember how well
-- their quote is anchored in thread_anchors (a table of its own, so the
-- threads row stays narrow and hot).

ALTER TABLE essays ADD COLUMN revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1);

CREATE TABLE essay_revisions (
    essay_id   uuid NOT NULL REFERENCES essays (id) ON DELETE CASCADE,
    revision   integer NOT NULL CHECK (revision >= 1),
    -- As submitted; the paragraphs are in paragraph_versions.
    body       text NOT NULL,
    format     text NOT NULL CHECK (format IN ('text', 'markdown')),
    note       text CHECK (char_length(note) <= 1000),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Paragraphs unchanged/edited/moved/added/retired and threads by status.
    summary    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (essay_id, revision)
);
INSERT INTO essay_revisions (essay_id, revision, body, format, created_by, created_at)
SELECT e.id, 1, coalesce(string_agg(p.text, E'\n\n' ORDER BY p.position), ''), e.format, e.created_by, e.created_at
  FROM essays e LEFT JOIN paragraphs p ON p.essay_id = e.id
 GROUP BY e.id;

ALTER TABLE paragraphs
    ADD COLUMN introduced_in integer NOT NULL DEFAULT 1,
    ADD COLUMN retired_in    integer CHECK (retired_in > introduced_in);
-- Positions are unique among the current paragraphs only; retired ones keep
-- their last position.
ALTER TABLE paragraphs DROP CONSTRAINT paragraphs_essay_id_position_key;
CREATE UNIQUE INDEX paragraphs_current_position_key ON paragraphs (essay_id, position) WHERE retired_in IS NULL;
CREATE INDEX paragraphs_retired_idx ON paragraphs (essay_id) WHERE retired_in IS NOT NULL;

-- A paragraph's position, kind and text as of each revision that changed
-- one of them (and the one that introduced it).
CREATE TABLE paragraph_versions (
    paragraph_id uuid NOT NULL REFERENCES paragraphs (id) ON DELETE CASCADE,
    revision     integer NOT NULL,
    position     integer NOT NULL CHECK (position >= 0),
    kind         text NOT NULL CHECK (kind IN ('paragraph', 'heading', 'list_item', 'quote', 'code')),
    text         text NOT NULL CHECK (text <> ''),
    change       text NOT NULL CHECK (change IN ('unchanged', 'edited', 'moved', 'added')),
    PRIMARY KEY (paragraph_id, revision)
);
INSERT INTO paragraph_versions (paragraph_id, revision, position, kind, text, change)
SELECT id, 1, position, kind, text, 'added' FROM paragraphs;

-- Deleting a paragraph would have cascaded to its threads and counts: a
-- discussion lost to an edit. Now only deleting the whole essay, session or
-- group (which takes the threads in the same statement) removes them.
ALTER TABLE threads DROP CONSTRAINT threads_paragraph_id_fkey,
    ADD CONSTRAINT threads_paragraph_id_fkey FOREIGN KEY (paragraph_id) REFERENCES paragraphs (id);
ALTER TABLE paragraph_counts DROP CONSTRAINT paragraph_counts_paragraph_id_fkey,
    ADD CONSTRAINT paragraph_counts_paragraph_id_fkey FOREIGN KEY (paragraph_id) REFERENCES paragraphs (id);

CREATE TABLE thread_anchors (
    thread_id      uuid PRIMARY KEY REFERENCES threads (id) ON DELETE CASCADE,
    -- Up to 32 code points either side of the quote, captured at creation
    -- and refreshed at every re-anchor.
    quote_prefix   text,
    quote_suffix   text,
    status         text NOT NULL DEFAULT 'anchored' CHECK (status IN ('anchored', 'moved', 'fuzzy', 'orphaned')),
    reason         text CHECK (reason IN ('quote_edited', 'quote_deleted', 'paragraph_retired', 'ambiguous')),
    confidence     real,
    -- The essay revision the anchor was last set on.
    revision       integer NOT NULL DEFAULT 1,
    -- The quote as first written, once it has moved: {paragraph_id, exact, start, end, revision}.
    original_quote jsonb,
    CHECK ((status = 'orphaned') = (reason IS NOT NULL))
);
CREATE INDEX thread_anchors_orphaned_idx ON thread_anchors (thread_id) WHERE status = 'orphaned';
INSERT INTO thread_anchors (thread_id, quote_prefix, quote_suffix)
SELECT t.id,
       substr(p.text, greatest(0, t.quote_start - 32) + 1, t.quote_start - greatest(0, t.quote_start - 32)),
       substr(p.text, t.quote_end + 1, 32)
  FROM threads t JOIN paragraphs p ON p.id = t.paragraph_id;

-- Every change of a thread's anchor: by a revision, or by a moderator.
CREATE TABLE thread_anchor_history (
    id             uuid PRIMARY KEY,
    thread_id      uuid NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    revision       integer NOT NULL,
    -- The moderator who re-attached it; NULL for a revision.
    actor_id       uuid REFERENCES users (id),
    from_paragraph uuid NOT NULL,
    to_paragraph   uuid,
    from_quote     jsonb,
    to_quote       jsonb,
    status         text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX thread_anchor_history_thread_idx ON thread_anchor_history (thread_id, created_at);

-- Moderators may re-attach a thread.
ALTER TABLE modlog DROP CONSTRAINT modlog_action_check;
ALTER TABLE modlog ADD CONSTRAINT modlog_action_check CHECK (action IN (
    'lock', 'unlock', 'pin', 'unpin', 'hide', 'restore',
    'ban', 'unban', 'role_change', 'resolve_report', 'delete', 'reanchor'));
