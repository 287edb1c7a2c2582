-- Pilcrow's database rules: every trigger and the SQL functions behind them.
--
-- This file is the one home of the counting rule, of what a live ban is, of
-- the access policy's facts (r.caller_access, r.anonymous_access) and of
-- comment tree order.
-- It is not a migration: src/db/replaceable.rs applies it after the
-- migrations, in the same transaction and under the same advisory lock
-- (src/db/migrate.rs), whenever its SHA-256 differs from the one recorded in
-- `COMMENT ON SCHEMA r` or a migration has just run. Editing a trigger means
-- editing this file, never adding a migration; migrations only change tables.
-- Everything here lives in schema `r`, so dropping the schema drops every
-- function and, with them, every trigger that calls one.
--
-- THE COUNTING RULE (r.counts, below: every statement and trigger asks it)
--   A thread counts when it is not hidden. A comment counts when it is
--   neither hidden nor deleted and its thread counts.
--   threads.comment_count holds the thread's counted comments whatever the
--   thread's own state, so hiding or restoring a thread moves exactly that
--   many in paragraph_counts. paragraph_counts has one row per (session,
--   paragraph) with any activity; a missing row means zero.
--
-- WHICH COLUMNS EACH TRIGGER WATCHES
--   comments  BEFORE INSERT                   comments_posted          sort_key and seq, thread
--                                                                      count and last activity,
--                                                                      paragraph count; also the
--                                                                      event and the author's read
--                                                                      mark (see below)
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
--   - posting comments (src/comments/posting.rs, through r.post_comments
--     at the end of this file) locks all their threads (FOR NO KEY UPDATE,
--     in the order session, paragraph, thread) before inserting; each
--     insert's trigger then updates its thread and its paragraph's counter
--     row, so counter rows are taken in paragraph order too;
--   - starting a thread (src/threads/routes.rs) share-locks the session
--     (lock_open_session, src/threads/rules.rs), then inserts the thread
--     (counter row) and its first comment through r.post_comments (thread,
--     then counter row);
--   - hiding, restoring or deleting a comment (src/moderation/comments.rs,
--     src/comments/routes.rs) locks the comment (FOR UPDATE); the update
--     trigger then updates the thread and the counter row;
--   - hiding or restoring a thread (src/moderation/threads.rs) locks the
--     thread (FOR NO KEY UPDATE); the trigger updates the counter row.
--   Closing a session (src/sessions/routes.rs) updates the session row, which
--   waits for every thread start holding its share lock, then locks every
--   thread of the session FOR UPDATE (paragraph, thread: the order posts
--   use), which waits for every comment in flight. Posts that got their lock
--   first land before the close; later ones read the closed status after
--   their lock and get 409 session_closed. Order there: session -> threads,
--   the same order thread starts use.
--
-- Re-applying takes strong locks (DROP/CREATE TRIGGER lock each table), which
-- is why it is skipped when nothing changed: a restart under traffic costs
-- one catalog read.

DROP SCHEMA IF EXISTS r CASCADE;
CREATE SCHEMA r;

-- ===========================================================================
-- THE SHARED RULES: what counts, what a live ban is, and the facts every
-- access decision is made on. Each is stated here once; the statements in
-- src/ (their .sql files and the query builder) and the triggers below name
-- them instead of restating them. All three are plain SQL that PostgreSQL
-- inlines into the statement that uses them (no SET, STRICT or SECURITY
-- DEFINER; one SELECT), so they cost what the text they stand for cost, and
-- a partial index whose predicate they spell is still matched.
-- ===========================================================================

-- The counting rule. A trigger asking whether a comment counts in itself
-- (threads.comment_count holds those, whatever the thread's state) passes
-- false for thread_hidden.
CREATE FUNCTION r.counts(hidden boolean, deleted boolean, thread_hidden boolean)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT NOT hidden AND NOT deleted AND NOT thread_hidden
$$;

-- The bans in force: one with no end, or whose end is still to come. Bans
-- end by themselves, so no trigger follows them: readers ask this view.
-- (It is a simple view, so deleting through it deletes a live ban only. Its
-- columns depend on bans': a migration changing them drops the view first,
-- and this file, re-applied after it, makes it again.)
CREATE VIEW r.live_bans AS
    SELECT group_id, user_id, expires_at FROM bans WHERE expires_at IS NULL OR expires_at > now();

-- Whether a caller may read a group's content: the group is public, the
-- caller is a site admin, or a member not banned. The rule of both functions
-- below.
CREATE FUNCTION r.may_read(p_visibility text, p_site_admin boolean, p_role text, p_banned boolean)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT p_visibility = 'public' OR coalesce(p_site_admin, false) OR (p_role IS NOT NULL AND NOT p_banned)
$$;

-- The facts the access policy (src/access.rs) decides on, for caller p_uid
-- holding token version p_ver in group p_group: the group, the caller's
-- membership, the caller's user row only while p_ver is still their token
-- version (user_current is null for a revoked token, and for the anonymous
-- caller, the nil id with version -1), any live ban, and `readable`: whether
-- the caller may read the group's content (public, a site admin, or a member
-- not banned), so a statement reads nothing behind it unless the policy
-- allows. One row, or none when the group does not exist.
CREATE FUNCTION r.caller_access(p_group uuid, p_uid uuid, p_ver integer)
RETURNS TABLE (group_id uuid, visibility text, role text, user_current uuid, site_admin boolean,
               banned boolean, username text, display_name text, bio text,
               user_created_at timestamptz, readable boolean)
LANGUAGE sql STABLE AS $$
    SELECT g.id, g.visibility, m.role, u.id, u.is_admin, b.user_id IS NOT NULL,
           u.username, u.display_name, u.bio, u.created_at,
           r.may_read(g.visibility, u.is_admin, m.role, b.user_id IS NOT NULL)
      FROM groups g
      LEFT JOIN memberships m ON m.group_id = g.id AND m.user_id = p_uid
      LEFT JOIN users u ON u.id = p_uid AND u.token_version = p_ver
      LEFT JOIN r.live_bans b ON b.group_id = g.id AND b.user_id = p_uid
     WHERE g.id = p_group
$$;

-- r.caller_access for the caller who has not signed in (the nil id, version
-- -1), without the three lookups that cannot find anything for it: no
-- membership, no user row, no ban. The same columns and the same rule; the
-- most frequent reads (a public session's counts) then plan a third of the
-- nodes, and PostgreSQL spends about half the time on them (benches/RESULTS.md,
-- "Anonymous reads without the caller's lookups").
CREATE FUNCTION r.anonymous_access(p_group uuid)
RETURNS TABLE (group_id uuid, visibility text, role text, user_current uuid, site_admin boolean,
               banned boolean, username text, display_name text, bio text,
               user_created_at timestamptz, readable boolean)
LANGUAGE sql STABLE AS $$
    SELECT g.id, g.visibility, NULL::text, NULL::uuid, NULL::boolean, false,
           NULL::text, NULL::text, NULL::text, NULL::timestamptz,
           r.may_read(g.visibility, NULL, NULL, false)
      FROM groups g
     WHERE g.id = p_group
$$;

-- POSTING A COMMENT: one BEFORE INSERT trigger does everything an insert
-- implies, for every section of this file: the thread's count (which also
-- takes the thread's row lock), the tree order, the paragraph's count, the
-- live event and the author's read mark. One trigger and one statement each,
-- because every trigger call and every statement inside one has its own
-- executor start-up and the thread was read four times: measured at 64
-- clients, four triggers did 1,546-1,879 bare inserts/s and this one
-- 1,830-2,377 (benches/RESULTS.md, "One insert trigger"). A BEFORE trigger
-- may write other rows: if the insert then fails (a constraint, the foreign keys),
-- the statement and everything done here are rolled back together.
--
-- Tree order: the parent's key followed by this comment's sequence number in
-- 16 hex digits, filled in the insert's own statement (no round trip for the
-- sequence). Sorting by it puts every reply after its parent and siblings
-- oldest first; a keyset cursor over it stays stable while replies arrive.
-- The number is also kept in `seq`, which read marks compare (the Reader
-- features section at the end of this file). It is drawn only once this
-- transaction holds its thread's row lock (the UPDATE takes it, if the
-- writer has not already), so within a thread seq order is commit order.
CREATE FUNCTION r.comment_posted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta integer := CASE WHEN r.counts(NEW.hidden, NEW.deleted, false) THEN 1 ELSE 0 END;
    t record;
BEGIN
    UPDATE threads
       SET comment_count = comment_count + delta,
           last_activity_at = greatest(last_activity_at, NEW.created_at)
     WHERE id = NEW.thread_id
    RETURNING session_id, paragraph_id, hidden, comment_count INTO t;
    IF NOT FOUND THEN
        -- What the foreign key would say, before NOT NULL seq could say less.
        RAISE EXCEPTION 'insert or update on table "comments" violates foreign key constraint "comments_thread_id_fkey"'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'comments_thread_id_fkey', TABLE = 'comments',
                  DETAIL = format('Key (thread_id)=(%s) is not present in table "threads".', NEW.thread_id);
    END IF;
    NEW.seq := nextval('comments_seq');
    NEW.sort_key := CASE WHEN NEW.parent_id IS NULL THEN ''
                         ELSE coalesce((SELECT sort_key FROM comments WHERE id = NEW.parent_id), '') END
                    || lpad(to_hex(NEW.seq), 16, '0');
    IF delta <> 0 AND NOT t.hidden THEN
        -- The common case inline; the first activity on a paragraph goes
        -- through r.bump_paragraph, which also creates the row.
        UPDATE paragraph_counts SET comment_count = comment_count + delta
         WHERE session_id = t.session_id AND paragraph_id = t.paragraph_id;
        IF NOT FOUND THEN
            PERFORM r.bump_paragraph(t.session_id, t.paragraph_id, 0, delta);
        END IF;
    END IF;
    -- Live session events (below): comment.created.
    INSERT INTO session_events (session_id, kind, paragraph_id, thread_id, comment_id)
    VALUES (t.session_id, 'comment.created', t.paragraph_id, NEW.thread_id, NEW.id);
    -- Reader features (at the end): posting raises the author's read mark.
    -- This comment is the thread's newest (its lock is held), so every
    -- counted comment of the thread is at or below it: `below` is the
    -- thread's count, just updated.
    INSERT INTO thread_reads (user_id, session_id, thread_id, seq, below)
    VALUES (NEW.author_id, t.session_id, NEW.thread_id, NEW.seq, t.comment_count)
    ON CONFLICT (user_id, session_id, thread_id) DO UPDATE
       SET seq = EXCLUDED.seq, below = EXCLUDED.below, updated_at = now()
     WHERE thread_reads.seq < EXCLUDED.seq;
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

-- Hiding, restoring or deleting a comment (rare: no inline fast path as in
-- r.comment_posted).
CREATE FUNCTION r.comment_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta integer := (CASE WHEN r.counts(NEW.hidden, NEW.deleted, false) THEN 1 ELSE 0 END)
                   - (CASE WHEN r.counts(OLD.hidden, OLD.deleted, false) THEN 1 ELSE 0 END);
    t record;
BEGIN
    IF delta = 0 THEN
        RETURN NULL;
    END IF;
    UPDATE threads SET comment_count = comment_count + delta
     WHERE id = NEW.thread_id
    RETURNING session_id, paragraph_id, hidden INTO t;
    IF NOT t.hidden THEN
        PERFORM r.bump_paragraph(t.session_id, t.paragraph_id, 0, delta);
    END IF;
    -- Read marks at or above the comment counted it in `below` (Reader
    -- features, at the end); their paragraph_reads follow (r.marks_seen).
    PERFORM r.lock_marks(t.session_id);
    UPDATE thread_reads SET below = below + delta
     WHERE thread_id = NEW.thread_id AND seq >= NEW.seq;
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
        -- The readers' seen counts leave or rejoin the paragraph with it.
        PERFORM r.lock_marks(NEW.session_id);
        INSERT INTO paragraph_reads (user_id, session_id, paragraph_id, seen)
        SELECT m.user_id, m.session_id, NEW.paragraph_id, CASE WHEN NEW.hidden THEN -m.below ELSE m.below END
          FROM thread_reads m
         WHERE m.thread_id = NEW.id AND m.below <> 0
         ORDER BY m.user_id
        ON CONFLICT (user_id, session_id, paragraph_id) DO UPDATE
           SET seen = paragraph_reads.seen + EXCLUDED.seen;
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

CREATE TRIGGER comments_posted BEFORE INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION r.comment_posted();
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
-- ESSAY REVISIONS (src/essays/revisions.rs, src/anchors/placement.rs)
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
-- (src/anchors/placement.rs) takes essay (FOR SHARE) -> paragraph (FOR SHARE)
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
    -- The readers' seen counts move with the thread (Reader features).
    PERFORM r.lock_marks(NEW.session_id);
    INSERT INTO paragraph_reads (user_id, session_id, paragraph_id, seen)
    SELECT m.user_id, m.session_id, x.paragraph_id, x.sign * m.below
      FROM thread_reads m
     CROSS JOIN (VALUES (OLD.paragraph_id, -1), (NEW.paragraph_id, 1)) AS x (paragraph_id, sign)
     WHERE m.thread_id = NEW.id AND m.below <> 0
     ORDER BY m.user_id, x.paragraph_id
    ON CONFLICT (user_id, session_id, paragraph_id) DO UPDATE
       SET seen = paragraph_reads.seen + EXCLUDED.seen;
    RETURN NULL;
END;
$$;

CREATE TRIGGER threads_counted_move AFTER UPDATE OF paragraph_id ON threads
    FOR EACH ROW WHEN (OLD.paragraph_id IS DISTINCT FROM NEW.paragraph_id)
    EXECUTE FUNCTION r.thread_moved();

-- =====================================================================
-- LIVE SESSION EVENTS (src/events/)
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
--   comments          BEFORE INSERT                   comment_posted   comment.created (in the
--                                                                      counting section above)
--   comments          AFTER UPDATE OF body, hidden,   events_comment   comment.updated
--                     deleted
--   threads           AFTER INSERT                    events_thread    thread.created
--   threads           AFTER UPDATE OF hidden, locked, events_thread    thread.removed (hidden),
--                     pinned, title, quote_*,                          thread.restored (shown),
--                     paragraph_id, vote_count,                        thread.updated (else)
--                     answer_count
--   reading_sessions  AFTER UPDATE OF title, status,  events_session   session.updated
--                     starts_at, ends_at
--   memberships       AFTER UPDATE OF role, DELETE    events_access    access.changed (that user)
--   bans              AFTER INSERT, UPDATE, DELETE    events_access    access.changed (that user)
--   groups            AFTER UPDATE OF visibility      events_access    access.changed (everyone)
--   users             AFTER UPDATE OF token_version   events_tokens    access.changed (that user, in
--                                                                      each session of their groups)
--   thread_anchors    AFTER UPDATE OF status, reason, events_anchor    thread.updated (a revision
--                     quote_prefix, quote_suffix                       orphaned or refreshed a
--                                                                      quote in place)
-- A revision also writes essay.revised itself (src/essays/revisions.rs),
-- once per session of the essay.
-- Detail for the notifier (src/notifications/): comment.updated carries
-- {hidden} when hiding changed; thread.updated carries {locked} when the lock
-- changed, {answer_accepted: comment id} when an answer was accepted, and
-- {reanchored: status} when a revision changed the anchor's status.
-- These only read and append; they lock nothing beyond the rows the write
-- protocol above already holds (the thread lookup reads a row the counting
-- trigger has just updated in the same transaction).
-- =====================================================================

-- PL/pgSQL, not SQL: a LANGUAGE sql function called from a trigger is
-- parsed and planned again on every call, while PL/pgSQL keeps the INSERT's
-- plan for the connection's life (measured: benches/RESULTS.md, "Write cost
-- of the event log").
CREATE FUNCTION r.emit_event(
    p_session uuid,
    p_kind text,
    p_paragraph uuid DEFAULT NULL,
    p_thread uuid DEFAULT NULL,
    p_comment uuid DEFAULT NULL,
    p_target_user uuid DEFAULT NULL,
    p_detail jsonb DEFAULT NULL
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO session_events (session_id, kind, paragraph_id, thread_id, comment_id, target_user_id, detail)
    VALUES (p_session, p_kind, p_paragraph, p_thread, p_comment, p_target_user, p_detail);
END;
$$;

-- An edited, hidden, restored or deleted comment (a posted one: r.comment_posted).
-- A change of `hidden` says so in the detail: the notifier tells the author
-- (src/notifications/notifier.rs).
CREATE FUNCTION r.events_comment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO session_events (session_id, kind, paragraph_id, thread_id, comment_id, detail)
    SELECT t.session_id, 'comment.updated', t.paragraph_id, NEW.thread_id, NEW.id,
           CASE WHEN OLD.hidden <> NEW.hidden THEN jsonb_build_object('hidden', NEW.hidden) END
      FROM threads t WHERE t.id = NEW.thread_id;
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
    -- For the notifier (src/notifications/notifier.rs): a lock or unlock,
    -- and the answer just accepted (its row was inserted in this
    -- transaction, whose counting trigger is what updated the thread).
    IF TG_OP = 'UPDATE' AND OLD.locked <> NEW.locked THEN
        detail := coalesce(detail, '{}') || jsonb_build_object('locked', NEW.locked);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.answer_count > OLD.answer_count THEN
        detail := coalesce(detail, '{}') || jsonb_build_object('answer_accepted',
            (SELECT a.comment_id FROM thread_answers a WHERE a.thread_id = NEW.id
              ORDER BY a.accepted_at DESC LIMIT 1));
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

-- Revoking a user's tokens (logout everywhere, a password change or reset)
-- ends their streams at once, as a ban does. Only their groups' sessions:
-- elsewhere they read what anyone may.
CREATE FUNCTION r.events_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM r.emit_event(s.id, 'access.changed', NULL, NULL, NULL, NEW.id)
       FROM memberships m JOIN reading_sessions s ON s.group_id = m.group_id
      WHERE m.user_id = NEW.id;
    RETURN NULL;
END;
$$;

-- A thread orphaned in place keeps its threads row; only its anchor changes.
CREATE FUNCTION r.events_anchor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM r.emit_event(t.session_id, 'thread.updated', t.paragraph_id, t.id, NULL, NULL,
                         CASE WHEN OLD.status IS DISTINCT FROM NEW.status
                              THEN jsonb_build_object('reanchored', NEW.status) END)
       FROM threads t WHERE t.id = NEW.thread_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER comments_events_update AFTER UPDATE OF body, hidden, deleted ON comments
    FOR EACH ROW
    WHEN (OLD.body IS DISTINCT FROM NEW.body OR OLD.hidden <> NEW.hidden OR OLD.deleted <> NEW.deleted)
    EXECUTE FUNCTION r.events_comment();
CREATE TRIGGER threads_events_insert AFTER INSERT ON threads
    FOR EACH ROW EXECUTE FUNCTION r.events_thread();
CREATE TRIGGER threads_events_update
    AFTER UPDATE OF hidden, locked, pinned, title, quote_exact, quote_start, quote_end, paragraph_id,
                    vote_count, answer_count ON threads
    FOR EACH ROW WHEN ((OLD.hidden, OLD.locked, OLD.pinned, OLD.title, OLD.quote_exact, OLD.quote_start,
                        OLD.quote_end, OLD.paragraph_id, OLD.vote_count, OLD.answer_count)
                       IS DISTINCT FROM (NEW.hidden, NEW.locked, NEW.pinned, NEW.title, NEW.quote_exact,
                        NEW.quote_start, NEW.quote_end, NEW.paragraph_id, NEW.vote_count, NEW.answer_count))
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
CREATE TRIGGER users_events_tokens AFTER UPDATE OF token_version ON users
    FOR EACH ROW WHEN (OLD.token_version IS DISTINCT FROM NEW.token_version)
    EXECUTE FUNCTION r.events_tokens();

-- What comment pages show of their authors belongs to no session, so a
-- change to it moves one watermark (migration 000060) instead of appending
-- events: the writer's xid names it, like an event's, so a reader uses it
-- only once it is settled. Renames are rare; the one row serialises them.
CREATE FUNCTION r.profiles_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE event_watermarks
       SET xid = (pg_current_xact_id()::text)::bigint, id = id + 1, updated_at = now()
     WHERE name = 'profiles';
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_profiles_changed AFTER UPDATE OF username, display_name, bio, erased ON users
    FOR EACH ROW
    WHEN ((OLD.username, OLD.display_name, OLD.bio, OLD.erased)
          IS DISTINCT FROM (NEW.username, NEW.display_name, NEW.bio, NEW.erased))
    EXECUTE FUNCTION r.profiles_changed();

-- ===========================================================================
-- READER FEATURES: votes, accepted answers, open questions, and
-- read marks. Migrations 000040 (questions) and 000041 (unread) made the
-- tables; src/questions/ and src/unread/ are the code that relies on this.
--
-- WHICH COLUMNS EACH TRIGGER WATCHES
--   thread_votes   AFTER INSERT OR DELETE          thread_votes_counted      threads.vote_count
--   thread_answers AFTER INSERT OR DELETE          thread_answers_counted    threads.answer_count
--   comments       AFTER UPDATE OF hidden, deleted comments_answer_counted   threads.answer_count
--   threads        AFTER INSERT, AFTER UPDATE OF   threads_open_questions    paragraph_counts.
--                  hidden, answer_count,                                     open_question_count
--                  paragraph_id, session_id
--   comments       BEFORE INSERT                   comments_posted           thread_reads (author;
--                                                                               counting section)
--   comments       AFTER UPDATE OF hidden, deleted comments_counted_update   thread_reads.below
--   threads        AFTER UPDATE OF hidden,         threads_counted_update,   paragraph_reads.seen
--                  paragraph_id                    threads_counted_move
--   thread_reads   AFTER INSERT, UPDATE, DELETE    thread_reads_seen_*       paragraph_reads.seen
--                  (statement, transition tables)
--
-- THE RULES
--   vote_count: every stored vote. A vote is stored only by a member (the
--   membership foreign key; leaving the group deletes it by cascade, through
--   this trigger). Votes of members whose ban is live are subtracted when
--   read (src/questions/models.rs, through r.live_bans): bans end by
--   themselves, so no trigger could follow them.
--   answer_count: accepted answers whose comment counts (neither hidden nor
--   deleted). An accepted answer that is later hidden or deleted stops
--   answering the question: the thread is open again (and counted in
--   open_question_count) until the comment is restored, which makes it
--   answered again. The acceptance row itself is kept.
--   open_question_count: question threads that count (not hidden) and have
--   answer_count = 0. The trigger follows the thread's paragraph and session
--   too, so once the guards on those columns go, a moved question moves its
--   count without further change here.
--   Read marks: the newest comment seq a reader has seen per thread, only
--   ever raised. Posting a comment raises its author's mark to it.
--   UNREAD BY ARITHMETIC. A comment is unread by reader U when it counts,
--   its seq is above U's mark in its thread (a thread U never marked has
--   all its counted comments unread), and someone else wrote it; U's own
--   comments are never above U's mark, since posting raises the mark to the
--   comment in the same transaction and marks only rise. Two kept numbers
--   make that arithmetic:
--     thread_reads.below     = the thread's comments that count in
--                              themselves (r.counts(.., false)) with seq at
--                              or below the mark's seq;
--     paragraph_reads.seen   = the sum of `below` over U's marks on the
--                              paragraph's threads that are not hidden.
--   So U's unread count in a thread is 0 when it is hidden, else
--   threads.comment_count - below (comment_count when unmarked), and in a
--   paragraph paragraph_counts.comment_count - seen: both exact, because
--   every change of what they count moves them in the same transaction:
--   - raising a mark (src/unread/routes/raise_marks.sql, src/notifications/
--     routes/mark_read.sql) sets `below` through r.mark_below: the old
--     `below` plus the counted comments in (old seq, new seq], or, for a
--     first mark, the counted comments up to it;
--   - posting sets its author's `below` to the thread's comment_count: the
--     new comment is the thread's newest, so every counted one is below it;
--   - hiding, restoring or deleting a comment adds its change (+1/-1) to
--     `below` of every mark at or above its seq, and to nothing else: a
--     hidden comment below a mark leaves `below` and comment_count together,
--     so the difference (the unread count) is unchanged and never negative;
--   - every change of `below` moves `seen` of the mark's paragraph by the
--     same amount when the thread is not hidden (r.marks_seen, a statement
--     trigger on thread_reads, which also takes deleted marks out);
--   - hiding or restoring a thread takes its marks' `below` out of or back
--     into `seen`; moving it to another paragraph moves them.
--   Concurrency: `below` is computed from comments' state, so a raise and a
--   moderation of the same session must not interleave. Raises take the
--   session's marks lock (r.lock_marks) shared before their first mark row,
--   and compute `below` in a volatile function, whose statements see what
--   committed before the lock was granted; moderation of a comment or a
--   thread (and a move) takes it exclusively after its thread and counter
--   rows, so it waits for raises in flight and then sees their marks, or
--   the raise waits for it. Posting takes no marks lock: it holds its
--   thread's row lock, which moderation of that thread takes first. Lock
--   order: thread -> paragraph_counts -> marks lock -> thread_reads ->
--   paragraph_reads (rows of one statement in key order), for every writer.
--
-- THE WRITE PROTOCOL, continued
--   - voting (src/questions/votes.rs) key-share-locks the voter's membership,
--     share-locks the session (lock_open_session), then locks the thread FOR
--     NO KEY UPDATE before inserting or deleting the vote; the trigger then
--     updates that thread. Leaving a group deletes the membership, whose
--     cascade deletes votes and updates their threads: membership -> thread
--     in both, and session -> thread as thread starts and closes take them.
--   - accepting or withdrawing an answer (src/questions/answers.rs) locks the
--     comment FOR SHARE, then the thread, before touching thread_answers, so
--     a concurrent hide or delete of that comment (which holds it FOR UPDATE)
--     runs wholly before or after: exactly one of the two triggers sees both
--     the acceptance row and the comment's new state.
--   - comment inserts hold the thread's row lock from before their seq is
--     drawn until commit (r.comment_posted takes it if the writer has not),
--     so within a thread seq order is commit order and a read mark never
--     covers a comment that commits after it with a lower seq.

-- The session's marks lock (UNREAD BY ARITHMETIC above): shared for raises,
-- exclusive for the moderation triggers. A transaction-scoped advisory lock
-- in a key space of its own.
CREATE FUNCTION r.lock_marks(p_session uuid, p_shared boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_shared THEN
        PERFORM pg_advisory_xact_lock_shared(hashtext('thread_reads'), hashtext(p_session::text));
    ELSE
        PERFORM pg_advisory_xact_lock(hashtext('thread_reads'), hashtext(p_session::text));
    END IF;
END;
$$;

-- `below` for p_user's mark in p_thread raised to p_seq: called by raises
-- for the row they propose and again in ON CONFLICT DO UPDATE. Takes the
-- session's marks lock (shared) before any statement reads, so (VOLATILE:
-- each statement here has its own snapshot) what it counts is as of after
-- the lock. The existing mark, if any, is read again here for the same
-- reason; a mark already at or above p_seq keeps its number.
CREATE FUNCTION r.mark_below(p_user uuid, p_session uuid, p_thread uuid, p_seq bigint)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    old_seq bigint;
    old_below integer;
BEGIN
    PERFORM r.lock_marks(p_session, true);
    SELECT m.seq, m.below INTO old_seq, old_below FROM thread_reads m
     WHERE m.user_id = p_user AND m.session_id = p_session AND m.thread_id = p_thread;
    IF old_seq >= p_seq THEN
        RETURN old_below;
    END IF;
    RETURN coalesce(old_below, 0)
         + (SELECT count(*) FROM comments c
             WHERE c.thread_id = p_thread AND c.seq > coalesce(old_seq, 0) AND c.seq <= p_seq
               AND r.counts(c.hidden, c.deleted, false))::integer;
END;
$$;

-- paragraph_reads follows thread_reads.below: per statement, the changes
-- summed by (reader, session, paragraph) of threads that are not hidden,
-- written in key order. Deleted marks (an account's deletion, cascades) are
-- taken out without creating rows, since a cascade may be deleting the
-- session or the reader too.
CREATE FUNCTION r.marks_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO paragraph_reads (user_id, session_id, paragraph_id, seen)
        SELECT n.user_id, n.session_id, t.paragraph_id, sum(n.below)
          FROM new_marks n JOIN threads t ON t.id = n.thread_id
         WHERE NOT t.hidden
         GROUP BY n.user_id, n.session_id, t.paragraph_id
        HAVING sum(n.below) <> 0
         ORDER BY n.user_id, n.session_id, t.paragraph_id
        ON CONFLICT (user_id, session_id, paragraph_id) DO UPDATE
           SET seen = paragraph_reads.seen + EXCLUDED.seen;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO paragraph_reads (user_id, session_id, paragraph_id, seen)
        SELECT n.user_id, n.session_id, t.paragraph_id, sum(n.below - o.below)
          FROM new_marks n
          JOIN old_marks o USING (user_id, session_id, thread_id)
          JOIN threads t ON t.id = n.thread_id
         WHERE NOT t.hidden AND n.below <> o.below
         GROUP BY n.user_id, n.session_id, t.paragraph_id
        HAVING sum(n.below - o.below) <> 0
         ORDER BY n.user_id, n.session_id, t.paragraph_id
        ON CONFLICT (user_id, session_id, paragraph_id) DO UPDATE
           SET seen = paragraph_reads.seen + EXCLUDED.seen;
    ELSE
        UPDATE paragraph_reads p SET seen = p.seen - d.seen
          FROM (SELECT o.user_id, o.session_id, t.paragraph_id, sum(o.below) AS seen
                  FROM old_marks o JOIN threads t ON t.id = o.thread_id
                 WHERE NOT t.hidden AND o.below <> 0
                 GROUP BY o.user_id, o.session_id, t.paragraph_id) d
         WHERE p.user_id = d.user_id AND p.session_id = d.session_id AND p.paragraph_id = d.paragraph_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER thread_reads_seen_insert AFTER INSERT ON thread_reads
    REFERENCING NEW TABLE AS new_marks
    FOR EACH STATEMENT EXECUTE FUNCTION r.marks_seen();
CREATE TRIGGER thread_reads_seen_update AFTER UPDATE ON thread_reads
    REFERENCING OLD TABLE AS old_marks NEW TABLE AS new_marks
    FOR EACH STATEMENT EXECUTE FUNCTION r.marks_seen();
CREATE TRIGGER thread_reads_seen_delete AFTER DELETE ON thread_reads
    REFERENCING OLD TABLE AS old_marks
    FOR EACH STATEMENT EXECUTE FUNCTION r.marks_seen();

CREATE FUNCTION r.bump_open_questions(p_session uuid, p_paragraph uuid, delta integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE paragraph_counts SET open_question_count = open_question_count + delta
     WHERE session_id = p_session AND paragraph_id = p_paragraph;
    IF NOT FOUND THEN
        INSERT INTO paragraph_counts (session_id, paragraph_id, open_question_count)
        VALUES (p_session, p_paragraph, delta)
        ON CONFLICT (session_id, paragraph_id) DO UPDATE
           SET open_question_count = paragraph_counts.open_question_count + EXCLUDED.open_question_count;
    END IF;
END;
$$;

CREATE FUNCTION r.thread_votes_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE threads SET vote_count = vote_count + 1 WHERE id = NEW.thread_id;
    ELSE
        UPDATE threads SET vote_count = vote_count - 1 WHERE id = OLD.thread_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION r.thread_answers_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    a thread_answers;
BEGIN
    IF TG_OP = 'INSERT' THEN
        a := NEW;
    ELSE
        a := OLD;
    END IF;
    -- A comment gone with its thread (cascade) counts as not counted.
    IF EXISTS (SELECT 1 FROM comments c
                WHERE c.id = a.comment_id AND r.counts(c.hidden, c.deleted, false)) THEN
        UPDATE threads
           SET answer_count = answer_count + CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END
         WHERE id = a.thread_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION r.comment_answer_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM thread_answers WHERE thread_id = NEW.thread_id AND comment_id = NEW.id) THEN
        UPDATE threads
           SET answer_count = answer_count + CASE WHEN r.counts(NEW.hidden, NEW.deleted, false) THEN 1 ELSE -1 END
         WHERE id = NEW.thread_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION r.thread_open_questions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_open boolean := TG_OP = 'UPDATE' AND OLD.kind = 'question' AND NOT OLD.hidden AND OLD.answer_count = 0;
    is_open boolean := NEW.kind = 'question' AND NOT NEW.hidden AND NEW.answer_count = 0;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.session_id = NEW.session_id AND OLD.paragraph_id = NEW.paragraph_id THEN
        IF was_open <> is_open THEN
            PERFORM r.bump_open_questions(NEW.session_id, NEW.paragraph_id,
                                          CASE WHEN is_open THEN 1 ELSE -1 END);
        END IF;
        RETURN NULL;
    END IF;
    IF was_open THEN
        PERFORM r.bump_open_questions(OLD.session_id, OLD.paragraph_id, -1);
    END IF;
    IF is_open THEN
        PERFORM r.bump_open_questions(NEW.session_id, NEW.paragraph_id, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER thread_votes_counted AFTER INSERT OR DELETE ON thread_votes
    FOR EACH ROW EXECUTE FUNCTION r.thread_votes_counted();
CREATE TRIGGER thread_answers_counted AFTER INSERT OR DELETE ON thread_answers
    FOR EACH ROW EXECUTE FUNCTION r.thread_answers_counted();
CREATE TRIGGER comments_answer_counted AFTER UPDATE OF hidden, deleted ON comments
    FOR EACH ROW WHEN (r.counts(OLD.hidden, OLD.deleted, false) <> r.counts(NEW.hidden, NEW.deleted, false))
    EXECUTE FUNCTION r.comment_answer_counted();
CREATE TRIGGER threads_open_questions_insert AFTER INSERT ON threads
    FOR EACH ROW WHEN (NEW.kind = 'question')
    EXECUTE FUNCTION r.thread_open_questions();
CREATE TRIGGER threads_open_questions_update AFTER UPDATE OF hidden, answer_count, paragraph_id, session_id ON threads
    FOR EACH ROW WHEN (NEW.kind = 'question' OR OLD.kind = 'question')
    EXECUTE FUNCTION r.thread_open_questions();

-- ===========================================================================
-- Posting comments, several in one statement
-- ===========================================================================
-- Every comment is inserted here: POST /threads/{id}/comments
-- (src/comments/routes.rs `create_comment`) queues its post on its worker's post queue (src/comments/post_queue.rs). A
-- batch of posts reads what they are decided on in one statement (access
-- facts; the thread's locked and hidden; its session's status; the parent;
-- r.asks below), decides each in Rust (src/comments/posting.rs), and writes
-- the allowed ones with one call of this function: one statement and one
-- commit for all of them (measured with pgbench, 64 clients: one post a call
-- 1,584-1,776 posts/s, eight a call 3,977-4,331; benches/RESULTS.md, "Posts
-- that arrive together"). A post under an Idempotency-Key calls it with one post,
-- inside its key's transaction; so does starting a thread, for the thread's
-- first comment (src/threads/routes.rs `create_thread`, after inserting the
-- thread in the same transaction), so there is one way a comment is written.
--
-- The rules of posting live in Rust only: this function decides nothing.
-- It follows the write protocol above: every thread's lock first, all in one
-- order (session, paragraph, thread; closing a session locks its threads in
-- the same order); then the posts in the order given, which the caller sorts
-- the same way (posting.rs `write_now`), so the paragraphs' counter rows
-- are taken in that order too and two calls can wait for each other but not
-- in a circle. Each post is inserted by a later statement than the locks (a
-- fresh snapshot: a close that held one has committed and is seen), and only
-- if its thread and session are still as its decision saw them. The others
-- are left out of the result, and their callers read and decide again. Being
-- one statement, it holds the locks for the inserts alone, not across round
-- trips.
-- A post as r.post_comments takes it: the comment to insert, and what its
-- thread and session looked like when it was decided (`seen_*`).
CREATE TYPE r.post AS (
    id uuid, thread_id uuid, parent_id uuid, depth smallint, author_id uuid, body text,
    seen_locked boolean, seen_hidden boolean, seen_status text,
    -- Whom the comment tells of a mention (src/notifications/mentions.rs).
    mentions uuid[]
);

-- p_posts: a JSON array of r.post objects, in the order to write them.
-- Returns the columns posting reads, named: a result of the table's row type
-- would change with every column a migration adds or drops, and each
-- server's prepared `SELECT * FROM r.post_comments(…)` would then fail until
-- it reconnected.
CREATE FUNCTION r.post_comments(p_posts jsonb)
RETURNS TABLE (id uuid, thread_id uuid, parent_id uuid, depth smallint, sort_key text, author_id uuid,
               body text, deleted boolean, hidden boolean, hidden_by uuid, hidden_reason text,
               created_at timestamptz, edited_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p r.post;
BEGIN
    PERFORM 1 FROM threads
     WHERE id = ANY (ARRAY(SELECT (e ->> 'thread_id')::uuid FROM jsonb_array_elements(p_posts) e))
     ORDER BY session_id, paragraph_id, id
       FOR NO KEY UPDATE;
    -- One statement a post, its values from the loop's row: a join of the
    -- posts with threads was planned anew on every call (its row count is
    -- known only from the values), which cost more than the inserts.
    -- The record is made in FROM, once a post: `(jsonb_populate_record(…)).*`
    -- in the select list would call it once for every column of r.post.
    FOR p IN SELECT v.*
               FROM jsonb_array_elements(p_posts) WITH ORDINALITY e
              CROSS JOIN LATERAL jsonb_populate_record(NULL::r.post, e.value) v
              ORDER BY e.ordinality LOOP
        -- sort_key is filled by the comments_posted trigger.
        RETURN QUERY
            INSERT INTO comments AS c (id, thread_id, parent_id, depth, sort_key, author_id, body)
            SELECT p.id, p.thread_id, p.parent_id, p.depth, '', p.author_id, p.body
             WHERE EXISTS (SELECT FROM threads t JOIN reading_sessions rs ON rs.id = t.session_id
                            WHERE t.id = p.thread_id AND t.locked = p.seen_locked
                              AND t.hidden = p.seen_hidden AND rs.status = p.seen_status)
            RETURNING c.id, c.thread_id, c.parent_id, c.depth, c.sort_key, c.author_id, c.body, c.deleted,
                      c.hidden, c.hidden_by, c.hidden_reason, c.created_at, c.edited_at;
        IF FOUND AND cardinality(p.mentions) > 0 THEN
            INSERT INTO comment_mentions (comment_id, user_id)
            SELECT p.id, m FROM unnest(p.mentions) m ORDER BY m
            ON CONFLICT DO NOTHING;
        END IF;
    END LOOP;
END $$;

-- The asks of a batch of posts as rows (src/comments/posting.rs reads their
-- facts in one statement). A function, not unnest() in the statement: from
-- the arrays themselves PostgreSQL would see each batch's size, find a plan
-- for that size better than one for any size, and plan the statement (seven
-- tables) anew on every call, which cost more than running it. Behind a
-- function the estimate is ROWS, the same for every batch, so the plan is
-- made once per connection.
CREATE FUNCTION r.asks(p_callers uuid[], p_versions integer[], p_threads uuid[], p_parents uuid[])
RETURNS TABLE (uid uuid, ver integer, tid uuid, pid uuid, ord bigint) LANGUAGE plpgsql STABLE ROWS 8 AS $$
BEGIN
    RETURN QUERY SELECT * FROM unnest(p_callers, p_versions, p_threads, p_parents) WITH ORDINALITY;
END $$;

-- The settled event horizon (src/versions/cursor.rs): pg_snapshot_xmin of the
-- calling statement's snapshot (STABLE: it runs in that snapshot), so a read
-- can carry it as one more column instead of one more statement.
CREATE FUNCTION r.event_horizon() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint
$$;

-- NOTIFICATIONS (src/notifications/): the inbox is written by the notifier
-- alone, after the fact; the one rule here is that a read mark which comes
-- to cover an item's latest comment tells the recipient's live streams
-- (`notification.read` in inbox_events, src/notifications/live.rs). One
-- read state: the item is read exactly when the mark covers it, whichever
-- way the mark rose (reading the thread, marking the item read, posting).
--
-- WHICH COLUMNS EACH TRIGGER WATCHES
--   thread_reads   AFTER INSERT OR UPDATE OF seq   thread_reads_cover        inbox_events
--
-- It reads the one item of (reader, thread) by its unique key and locks
-- nothing, so it adds no step to the write protocol.
CREATE FUNCTION r.thread_reads_cover() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbox_events (recipient_id, kind, ids)
    SELECT NEW.user_id, 'notification.read', ARRAY[n.id]
      FROM notifications n
     WHERE n.recipient_id = NEW.user_id AND n.thread_id = NEW.thread_id
       AND n.latest_seq <= NEW.seq
       AND (TG_OP = 'INSERT' OR n.latest_seq > OLD.seq);
    RETURN NULL;
END $$;
CREATE TRIGGER thread_reads_cover AFTER INSERT OR UPDATE OF seq ON thread_reads
    FOR EACH ROW EXECUTE FUNCTION r.thread_reads_cover();
