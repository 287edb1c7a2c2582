CREATE TABLE threads (
    id               uuid PRIMARY KEY,
    session_id       uuid NOT NULL REFERENCES reading_sessions (id) ON DELETE CASCADE,
    paragraph_id     uuid NOT NULL REFERENCES paragraphs (id) ON DELETE CASCADE,
    author_id        uuid NOT NULL REFERENCES users (id),
    title            text CHECK (char_length(title) <= 200),
    quote_exact      text,
    quote_start      integer,
    quote_end        integer,
    locked           boolean NOT NULL DEFAULT false,
    pinned           boolean NOT NULL DEFAULT false,
    hidden           boolean NOT NULL DEFAULT false,
    hidden_by        uuid REFERENCES users (id),
    hidden_reason    text,
    comment_count    integer NOT NULL DEFAULT 0 CHECK (comment_count >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((quote_exact IS NULL) = (quote_start IS NULL) AND (quote_start IS NULL) = (quote_end IS NULL)),
    CHECK (quote_start >= 0 AND quote_end > quote_start)
);
CREATE INDEX threads_session_idx ON threads (session_id, pinned DESC, last_activity_at DESC, id DESC);
CREATE INDEX threads_paragraph_idx ON threads (session_id, paragraph_id, pinned DESC, last_activity_at DESC, id DESC);

CREATE SEQUENCE comments_seq;
CREATE TABLE comments (
    id            uuid PRIMARY KEY,
    thread_id     uuid NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    parent_id     uuid REFERENCES comments (id) ON DELETE CASCADE,
    depth         smallint NOT NULL CHECK (depth BETWEEN 0 AND 8),
    -- Materialised tree order: the parent's key followed by this comment's
    -- sequence number in 16 hex digits, so sorting by it puts every reply
    -- after its parent and siblings oldest first, and a keyset cursor over it
    -- stays stable while replies arrive.
    sort_key      text COLLATE "C" NOT NULL,
    author_id     uuid NOT NULL REFERENCES users (id),
    body          text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 10000),
    deleted       boolean NOT NULL DEFAULT false,
    deleted_by    uuid REFERENCES users (id),
    hidden        boolean NOT NULL DEFAULT false,
    hidden_by     uuid REFERENCES users (id),
    hidden_reason text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    edited_at     timestamptz
);
CREATE UNIQUE INDEX comments_tree_idx ON comments (thread_id, sort_key);
CREATE INDEX comments_parent_idx ON comments (parent_id);

-- Fills in the tree order key from the parent's, in the same statement as
-- the insert, so no round trip is needed to draw a sequence number.
CREATE FUNCTION pilcrow_comment_sort_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sort_key := coalesce((SELECT sort_key FROM comments WHERE id = NEW.parent_id), '')
                    || lpad(to_hex(nextval('comments_seq')), 16, '0');
    RETURN NEW;
END;
$$;
CREATE TRIGGER comments_sort_key BEFORE INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION pilcrow_comment_sort_key();

CREATE TABLE comment_revisions (
    id         uuid PRIMARY KEY,
    comment_id uuid NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    body       text NOT NULL,
    editor_id  uuid NOT NULL REFERENCES users (id),
    -- When this version was written (the comment's creation or an earlier edit).
    edited_at  timestamptz NOT NULL
);
CREATE INDEX comment_revisions_comment_idx ON comment_revisions (comment_id, edited_at, id);

-- The one "is counted" rule. A thread counts when it is not hidden; a comment
-- counts when it is neither hidden nor deleted and its thread counts.
-- threads.comment_count holds the thread's counted comments whatever the
-- thread's own state, so hiding or restoring a thread moves exactly that many.
-- Every write path goes through these triggers, inside its own transaction;
-- row locks are always taken comment -> thread -> paragraph_counts.
CREATE FUNCTION pilcrow_bump_paragraph(p_session uuid, p_paragraph uuid, d_threads integer, d_comments integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE paragraph_counts
       SET thread_count = thread_count + d_threads,
           comment_count = comment_count + d_comments
     WHERE session_id = p_session AND paragraph_id = p_paragraph;
    IF NOT FOUND THEN
        -- First activity on this paragraph. (An upsert cannot serve for both:
        -- PostgreSQL checks the CHECK constraints of the row it would insert,
        -- so a negative delta would fail even when the row exists.)
        INSERT INTO paragraph_counts (session_id, paragraph_id, thread_count, comment_count)
        VALUES (p_session, p_paragraph, d_threads, d_comments)
        ON CONFLICT (session_id, paragraph_id) DO UPDATE
           SET thread_count = paragraph_counts.thread_count + EXCLUDED.thread_count,
               comment_count = paragraph_counts.comment_count + EXCLUDED.comment_count;
    END IF;
END;
$$;

CREATE FUNCTION pilcrow_comment_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta integer;
    t record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        delta := CASE WHEN NEW.hidden OR NEW.deleted THEN 0 ELSE 1 END;
        UPDATE threads
           SET comment_count = comment_count + delta,
               last_activity_at = greatest(last_activity_at, NEW.created_at)
         WHERE id = NEW.thread_id
        RETURNING session_id, paragraph_id, hidden INTO t;
    ELSE
        delta := (CASE WHEN NEW.hidden OR NEW.deleted THEN 0 ELSE 1 END)
               - (CASE WHEN OLD.hidden OR OLD.deleted THEN 0 ELSE 1 END);
        IF delta = 0 THEN
            RETURN NULL;
        END IF;
        UPDATE threads SET comment_count = comment_count + delta
         WHERE id = NEW.thread_id
        RETURNING session_id, paragraph_id, hidden INTO t;
    END IF;
    IF delta <> 0 AND NOT t.hidden THEN
        PERFORM pilcrow_bump_paragraph(t.session_id, t.paragraph_id, 0, delta);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER comments_counted_insert AFTER INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION pilcrow_comment_counted();
CREATE TRIGGER comments_counted_update AFTER UPDATE OF hidden, deleted ON comments
    FOR EACH ROW EXECUTE FUNCTION pilcrow_comment_counted();

CREATE FUNCTION pilcrow_thread_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT NEW.hidden THEN
            PERFORM pilcrow_bump_paragraph(NEW.session_id, NEW.paragraph_id, 1, NEW.comment_count);
        END IF;
    ELSIF OLD.hidden <> NEW.hidden THEN
        PERFORM pilcrow_bump_paragraph(NEW.session_id, NEW.paragraph_id,
            CASE WHEN NEW.hidden THEN -1 ELSE 1 END,
            CASE WHEN NEW.hidden THEN -NEW.comment_count ELSE NEW.comment_count END);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER threads_counted_insert AFTER INSERT ON threads
    FOR EACH ROW EXECUTE FUNCTION pilcrow_thread_counted();
CREATE TRIGGER threads_counted_update AFTER UPDATE OF hidden ON threads
    FOR EACH ROW EXECUTE FUNCTION pilcrow_thread_counted();
