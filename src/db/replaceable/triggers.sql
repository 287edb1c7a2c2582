-- Pilcrow's database rules: every trigger and the SQL functions behind them.
--
-- This file is the one home of the counting rule and of comment tree order.
-- It is not a migration: src/db/replaceable.rs applies it after the
-- migrations, in the same transaction and under the same advisory lock
-- (src/db/migrate.rs), whenever its SHA-256 differs from the one recorded in
-- `COMMENT ON SCHEMA r` or a migration has just run. Editing a trigger means
-- editing this file, never adding a migration; migrations only change tables.
-- Everything here lives in schema `r`, so dropping the schema drops every
-- function and, with them, every trigger that calls one.
--
-- THE COUNTING RULE
--   A thread counts when it is not hidden. A comment counts when it is
--   neither hidden nor deleted and its thread counts.
--   threads.comment_count holds the thread's counted comments whatever the
--   thread's own state, so hiding or restoring a thread moves exactly that
--   many in paragraph_counts. paragraph_counts has one row per (session,
--   paragraph) with any activity; a missing row means zero.
--
-- WHICH COLUMNS EACH TRIGGER WATCHES
--   comments  BEFORE INSERT                   comments_sort_key        fills sort_key
--   comments  AFTER INSERT                    comments_counted_insert  thread count and last
--                                                                      activity, paragraph count
--   comments  AFTER UPDATE OF hidden, deleted comments_counted_update  thread and paragraph counts
--   threads   AFTER INSERT                    threads_counted_insert   paragraph counts
--   threads   AFTER UPDATE OF hidden          threads_counted_update   paragraph counts
--   threads   AFTER UPDATE OF paragraph_id    threads_counted_move     paragraph counts (see
--                                                                      "Essay revisions" at the end)
--   Guards (refuse the update, SQLSTATE 0A000): comments.thread_id and
--   threads.session_id. Moving a comment or a thread
--   would move counted rows that no trigger follows yet; whoever needs such a
--   move writes its trigger here and removes the guard in the same change.
--   Deletes are not watched: threads and comments are never deleted one by
--   one (deleting a comment sets `deleted`); they go only by cascade with
--   their group, essay or session, and their counter rows go with them.
--
-- THE WRITE PROTOCOL (what every write path in src/ relies on)
--   Row locks are always taken in the order comment -> thread ->
--   paragraph_counts, so concurrent writers can neither deadlock nor lose an
--   update:
--   - posting a comment (src/threads/comments.rs) locks its thread
--     (FOR NO KEY UPDATE) before inserting; the insert trigger then updates
--     that thread and the paragraph's counter row;
--   - starting a thread (src/threads/routes.rs) share-locks the session
--     (lock_open_session, src/threads/rules.rs), then inserts the thread
--     (counter row) and its first comment (thread, then counter row);
--   - hiding, restoring or deleting a comment (src/moderation/comments.rs,
--     src/threads/comments.rs) locks the comment (FOR UPDATE); the update
--     trigger then updates the thread and the counter row;
--   - hiding or restoring a thread (src/moderation/threads.rs) locks the
--     thread (FOR NO KEY UPDATE); the trigger updates the counter row.
--   Closing a session (src/sessions/routes.rs) updates the session row, which
--   waits for every thread start holding its share lock, then locks every
--   thread of the session FOR UPDATE, which waits for every comment in
--   flight. Posts that got their lock first land before the close; later ones
--   read the closed status after their lock and get 409 session_closed.
--   Order there: session -> threads, the same order thread starts use.
--
-- Re-applying takes strong locks (DROP/CREATE TRIGGER lock each table), which
-- is why it is skipped when nothing changed: a restart under traffic costs
-- one catalog read.

DROP SCHEMA IF EXISTS r CASCADE;
CREATE SCHEMA r;

-- Tree order: the parent's key followed by this comment's sequence number in
-- 16 hex digits, filled in the insert's own statement (no round trip for the
-- sequence). Sorting by it puts every reply after its parent and siblings
-- oldest first; a keyset cursor over it stays stable while replies arrive.
CREATE FUNCTION r.comment_sort_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sort_key := coalesce((SELECT sort_key FROM comments WHERE id = NEW.parent_id), '')
                    || lpad(to_hex(nextval('comments_seq')), 16, '0');
    RETURN NEW;
END;
$$;

-- Adds deltas to one (session, paragraph) counter row, creating it on first
-- activity.
CREATE FUNCTION r.bump_paragraph(p_session uuid, p_paragraph uuid, d_threads integer, d_comments integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE paragraph_counts
       SET thread_count = thread_count + d_threads,
           comment_count = comment_count + d_comments
     WHERE session_id = p_session AND paragraph_id = p_paragraph;
    IF NOT FOUND THEN
        -- An upsert cannot serve for both: PostgreSQL checks the CHECK
        -- constraints of the row it would insert, so a negative delta would
        -- fail even when the row exists.
        INSERT INTO paragraph_counts (session_id, paragraph_id, thread_count, comment_count)
        VALUES (p_session, p_paragraph, d_threads, d_comments)
        ON CONFLICT (session_id, paragraph_id) DO UPDATE
           SET thread_count = paragraph_counts.thread_count + EXCLUDED.thread_count,
               comment_count = paragraph_counts.comment_count + EXCLUDED.comment_count;
    END IF;
END;
$$;

CREATE FUNCTION r.comment_counted() RETURNS trigger LANGUAGE plpgsql AS $$
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
        -- The common case inline (measured: benches/RESULTS.md); the first
        -- activity on a paragraph goes through r.bump_paragraph, which also
        -- creates the row.
        UPDATE paragraph_counts SET comment_count = comment_count + delta
         WHERE session_id = t.session_id AND paragraph_id = t.paragraph_id;
        IF NOT FOUND THEN
            PERFORM r.bump_paragraph(t.session_id, t.paragraph_id, 0, delta);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION r.thread_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT NEW.hidden THEN
            PERFORM r.bump_paragraph(NEW.session_id, NEW.paragraph_id, 1, NEW.comment_count);
        END IF;
    ELSIF OLD.hidden <> NEW.hidden THEN
        PERFORM r.bump_paragraph(NEW.session_id, NEW.paragraph_id,
            CASE WHEN NEW.hidden THEN -1 ELSE 1 END,
            CASE WHEN NEW.hidden THEN -NEW.comment_count ELSE NEW.comment_count END);
    END IF;
    RETURN NULL;
END;
$$;

-- The guard: TG_ARGV[0] names the column the trigger's WHEN clause saw change.
CREATE FUNCTION r.refuse_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% cannot be changed: no trigger moves its counts yet', TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'feature_not_supported',
              HINT = 'Counting triggers live in src/db/replaceable/triggers.sql.';
END;
$$;

CREATE TRIGGER comments_sort_key BEFORE INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION r.comment_sort_key();
CREATE TRIGGER comments_counted_insert AFTER INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION r.comment_counted();
CREATE TRIGGER comments_counted_update AFTER UPDATE OF hidden, deleted ON comments
    FOR EACH ROW EXECUTE FUNCTION r.comment_counted();
CREATE TRIGGER threads_counted_insert AFTER INSERT ON threads
    FOR EACH ROW EXECUTE FUNCTION r.thread_counted();
CREATE TRIGGER threads_counted_update AFTER UPDATE OF hidden ON threads
    FOR EACH ROW EXECUTE FUNCTION r.thread_counted();

CREATE TRIGGER comments_thread_id_guard BEFORE UPDATE OF thread_id ON comments
    FOR EACH ROW WHEN (OLD.thread_id IS DISTINCT FROM NEW.thread_id)
    EXECUTE FUNCTION r.refuse_move('thread_id');
CREATE TRIGGER threads_session_id_guard BEFORE UPDATE OF session_id ON threads
    FOR EACH ROW WHEN (OLD.session_id IS DISTINCT FROM NEW.session_id)
    EXECUTE FUNCTION r.refuse_move('session_id');

-- ---------------------------------------------------------------------------
-- ESSAY REVISIONS (src/essays/revisions.rs, src/threads/anchor.rs)
--
-- A revision or a moderator's re-attach moves a thread to another paragraph
-- of the same essay; its counts move with it in the same transaction.
-- Paragraphs are never deleted: a retired paragraph keeps its threads and
-- counter rows, and /counts reports those rows as `orphaned`.
--
-- Write protocol of a revision (src/essays/revisions.rs, `apply`):
--   essay (FOR UPDATE: revisions of one essay run one at a time)
--   -> its current paragraphs (FOR UPDATE, in id order: waits for every
--      thread start holding its paragraph FOR SHARE, and makes later ones
--      re-read the new text)
--   -> the threads it moves (FOR NO KEY UPDATE, in id order: waits for
--      comments in flight, which lock thread then counter row)
--   -> paragraph_counts, through the trigger below, which takes the two
--      rows of one move in paragraph-id order, so two moves cannot deadlock.
-- A thread start (src/threads/routes.rs) takes session (FOR SHARE) ->
-- paragraph (FOR SHARE, current only) -> inserts. A re-attach
-- (src/threads/anchor.rs) takes essay (FOR SHARE) -> paragraph (FOR SHARE)
-- -> thread (FOR NO KEY UPDATE).
--
-- Moving a thread and hiding or restoring it in one UPDATE is refused: the
-- two triggers would each count it once.
CREATE FUNCTION r.thread_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.hidden IS DISTINCT FROM NEW.hidden THEN
        RAISE EXCEPTION 'threads.paragraph_id and threads.hidden cannot change in one update'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF NEW.hidden THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM paragraph_counts
      WHERE session_id = NEW.session_id AND paragraph_id IN (OLD.paragraph_id, NEW.paragraph_id)
      ORDER BY paragraph_id
      FOR UPDATE;
    IF OLD.paragraph_id < NEW.paragraph_id THEN
        PERFORM r.bump_paragraph(NEW.session_id, OLD.paragraph_id, -1, -NEW.comment_count);
        PERFORM r.bump_paragraph(NEW.session_id, NEW.paragraph_id, 1, NEW.comment_count);
    ELSE
        PERFORM r.bump_paragraph(NEW.session_id, NEW.paragraph_id, 1, NEW.comment_count);
        PERFORM r.bump_paragraph(NEW.session_id, OLD.paragraph_id, -1, -NEW.comment_count);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER threads_counted_move AFTER UPDATE OF paragraph_id ON threads
    FOR EACH ROW WHEN (OLD.paragraph_id IS DISTINCT FROM NEW.paragraph_id)
    EXECUTE FUNCTION r.thread_moved();

-- =====================================================================
-- LIVE SESSION EVENTS (src/events/; issue 10)
--
-- Every change a live reader must hear about appends a row to
-- session_events in the writer's own transaction, so no write path can
-- forget one. Rows carry only ids: the server renders each event at
-- delivery time as each viewer would GET the resource then (src/events/
-- render.rs), so a comment hidden after it was posted reaches members as a
-- tombstone, and events about a hidden thread never reach members at all.
-- `counts` events are not stored: each delivered batch carries the current
-- paragraph_counts rows of the paragraphs its events touched.
--
-- THE HOOK: r.emit_event(session, kind, paragraph, thread, comment,
-- target_user, detail). Any feature whose write a live reader must see calls
-- it from its trigger (or from SQL in its transaction), once per session
-- concerned. Nothing else is needed: the notifier (src/events/notify.rs)
-- tails the log and wakes every instance. Kinds are listed in the CHECK of
-- session_events.kind (migration 2026-11-28-000020); a new kind needs a
-- migration adding it there and a case in src/events/render.rs.
--
-- No NOTIFY here: a transaction that has sent NOTIFY takes a cluster-wide
-- lock at commit, which would serialise every write.
--
--   comments          AFTER INSERT                    events_comment   comment.created
--   comments          AFTER UPDATE OF body, hidden,   events_comment   comment.updated
--                     deleted
--   threads           AFTER INSERT                    events_thread    thread.created
--   threads           AFTER UPDATE OF hidden, locked, events_thread    thread.removed (hidden),
--                     pinned, title, quote_*,                          thread.restored (shown),
--                     paragraph_id                                     thread.updated (else)
--   reading_sessions  AFTER UPDATE OF title, status,  events_session   session.updated
--                     starts_at, ends_at
--   memberships       AFTER UPDATE OF role, DELETE    events_access    access.changed (that user)
--   bans              AFTER INSERT, UPDATE, DELETE    events_access    access.changed (that user)
--   groups            AFTER UPDATE OF visibility      events_access    access.changed (everyone)
--   thread_anchors    AFTER UPDATE OF status, reason, events_anchor    thread.updated (a revision
--                     quote_prefix, quote_suffix                       orphaned or refreshed a
--                                                                      quote in place)
-- A revision also writes essay.revised itself (src/essays/revisions.rs),
-- once per session of the essay.
-- These only read and append; they lock nothing beyond the rows the write
-- protocol above already holds (the thread lookup reads a row the counting
-- trigger has just updated in the same transaction).
-- =====================================================================

CREATE FUNCTION r.emit_event(
    p_session uuid,
    p_kind text,
    p_paragraph uuid DEFAULT NULL,
    p_thread uuid DEFAULT NULL,
    p_comment uuid DEFAULT NULL,
    p_target_user uuid DEFAULT NULL,
    p_detail jsonb DEFAULT NULL
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO session_events (session_id, kind, paragraph_id, thread_id, comment_id, target_user_id, detail)
    VALUES (p_session, p_kind, p_paragraph, p_thread, p_comment, p_target_user, p_detail);
$$;

CREATE FUNCTION r.events_comment() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    SELECT session_id, paragraph_id INTO t FROM threads WHERE id = NEW.thread_id;
    PERFORM r.emit_event(t.session_id,
        CASE WHEN TG_OP = 'INSERT' THEN 'comment.created' ELSE 'comment.updated' END,
        t.paragraph_id, NEW.thread_id, NEW.id);
    RETURN NULL;
END;
$$;

CREATE FUNCTION r.events_thread() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text;
    detail jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        kind := 'thread.created';
    ELSIF OLD.hidden <> NEW.hidden THEN
        kind := CASE WHEN NEW.hidden THEN 'thread.removed' ELSE 'thread.restored' END;
    ELSE
        kind := 'thread.updated';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.paragraph_id <> NEW.paragraph_id THEN
        -- Both paragraphs' counts changed; the batch's counts carry both.
        detail := jsonb_build_object('old_paragraph_id', OLD.paragraph_id);
    END IF;
    PERFORM r.emit_event(NEW.session_id, kind, NEW.paragraph_id, NEW.id, NULL, NULL, detail);
    RETURN NULL;
END;
$$;

CREATE FUNCTION r.events_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM r.emit_event(NEW.id, 'session.updated');
    RETURN NULL;
END;
$$;

-- Open streams of the group's sessions check the user's access again at
-- once (src/events/stream.rs); a NULL user means everyone's.
CREATE FUNCTION r.events_access() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    g uuid;
    u uuid;
BEGIN
    IF TG_TABLE_NAME = 'groups' THEN
        g := NEW.id;
        u := NULL;
    ELSIF TG_OP = 'DELETE' THEN
        g := OLD.group_id;
        u := OLD.user_id;
    ELSE
        g := NEW.group_id;
        u := NEW.user_id;
    END IF;
    PERFORM r.emit_event(s.id, 'access.changed', NULL, NULL, NULL, u)
       FROM reading_sessions s WHERE s.group_id = g;
    RETURN NULL;
END;
$$;

-- A thread orphaned in place keeps its threads row; only its anchor changes.
CREATE FUNCTION r.events_anchor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM r.emit_event(t.session_id, 'thread.updated', t.paragraph_id, t.id)
       FROM threads t WHERE t.id = NEW.thread_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER comments_events_insert AFTER INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION r.events_comment();
CREATE TRIGGER comments_events_update AFTER UPDATE OF body, hidden, deleted ON comments
    FOR EACH ROW
    WHEN (OLD.body IS DISTINCT FROM NEW.body OR OLD.hidden <> NEW.hidden OR OLD.deleted <> NEW.deleted)
    EXECUTE FUNCTION r.events_comment();
CREATE TRIGGER threads_events_insert AFTER INSERT ON threads
    FOR EACH ROW EXECUTE FUNCTION r.events_thread();
CREATE TRIGGER threads_events_update
    AFTER UPDATE OF hidden, locked, pinned, title, quote_exact, quote_start, quote_end, paragraph_id ON threads
    FOR EACH ROW WHEN ((OLD.hidden, OLD.locked, OLD.pinned, OLD.title, OLD.quote_exact, OLD.quote_start,
                        OLD.quote_end, OLD.paragraph_id)
                       IS DISTINCT FROM (NEW.hidden, NEW.locked, NEW.pinned, NEW.title, NEW.quote_exact,
                        NEW.quote_start, NEW.quote_end, NEW.paragraph_id))
    EXECUTE FUNCTION r.events_thread();
CREATE TRIGGER sessions_events_update AFTER UPDATE OF title, status, starts_at, ends_at ON reading_sessions
    FOR EACH ROW WHEN ((OLD.title, OLD.status, OLD.starts_at, OLD.ends_at)
                       IS DISTINCT FROM (NEW.title, NEW.status, NEW.starts_at, NEW.ends_at))
    EXECUTE FUNCTION r.events_session();
CREATE TRIGGER memberships_events AFTER UPDATE OF role OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION r.events_access();
CREATE TRIGGER bans_events AFTER INSERT OR UPDATE OR DELETE ON bans
    FOR EACH ROW EXECUTE FUNCTION r.events_access();
CREATE TRIGGER thread_anchors_events AFTER UPDATE OF status, reason, quote_prefix, quote_suffix ON thread_anchors
    FOR EACH ROW WHEN ((OLD.status, OLD.reason, OLD.quote_prefix, OLD.quote_suffix)
                       IS DISTINCT FROM (NEW.status, NEW.reason, NEW.quote_prefix, NEW.quote_suffix))
    EXECUTE FUNCTION r.events_anchor();
CREATE TRIGGER groups_events_visibility AFTER UPDATE OF visibility ON groups
    FOR EACH ROW WHEN (OLD.visibility IS DISTINCT FROM NEW.visibility)
    EXECUTE FUNCTION r.events_access();
