-- Back to the triggers of migrations 000004 and 000007. Schema r goes first:
-- with both sets in place every write would be counted twice.
DROP SCHEMA IF EXISTS r CASCADE;

CREATE FUNCTION pilcrow_comment_sort_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sort_key := coalesce((SELECT sort_key FROM comments WHERE id = NEW.parent_id), '')
                    || lpad(to_hex(nextval('comments_seq')), 16, '0');
    RETURN NEW;
END;
$$;
CREATE TRIGGER comments_sort_key BEFORE INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION pilcrow_comment_sort_key();

CREATE FUNCTION pilcrow_bump_paragraph(p_session uuid, p_paragraph uuid, d_threads integer, d_comments integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE paragraph_counts
       SET thread_count = thread_count + d_threads,
           comment_count = comment_count + d_comments
     WHERE session_id = p_session AND paragraph_id = p_paragraph;
    IF NOT FOUND THEN
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
        UPDATE paragraph_counts SET comment_count = comment_count + delta
         WHERE session_id = t.session_id AND paragraph_id = t.paragraph_id;
        IF NOT FOUND THEN
            PERFORM pilcrow_bump_paragraph(t.session_id, t.paragraph_id, 0, delta);
        END IF;
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
