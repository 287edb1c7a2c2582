DROP INDEX comments_parent_idx;
CREATE INDEX comments_parent_idx ON comments (parent_id);

CREATE OR REPLACE FUNCTION pilcrow_comment_counted() RETURNS trigger LANGUAGE plpgsql AS $$
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
