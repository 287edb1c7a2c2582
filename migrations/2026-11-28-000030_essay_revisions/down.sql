DELETE FROM modlog WHERE action = 'reanchor';
ALTER TABLE modlog DROP CONSTRAINT modlog_action_check;
ALTER TABLE modlog ADD CONSTRAINT modlog_action_check CHECK (action IN (
    'lock', 'unlock', 'pin', 'unpin', 'hide', 'restore',
    'ban', 'unban', 'role_change', 'resolve_report', 'delete'));
DROP TABLE thread_anchor_history;
DROP TABLE thread_anchors;
ALTER TABLE threads DROP CONSTRAINT threads_paragraph_id_fkey,
    ADD CONSTRAINT threads_paragraph_id_fkey FOREIGN KEY (paragraph_id) REFERENCES paragraphs (id) ON DELETE CASCADE;
ALTER TABLE paragraph_counts DROP CONSTRAINT paragraph_counts_paragraph_id_fkey,
    ADD CONSTRAINT paragraph_counts_paragraph_id_fkey FOREIGN KEY (paragraph_id) REFERENCES paragraphs (id) ON DELETE CASCADE;
DROP TABLE paragraph_versions;
-- Going back to one text per essay: retired paragraphs (and, by cascade,
-- their threads) cannot be kept.
DELETE FROM paragraphs WHERE retired_in IS NOT NULL;
DROP INDEX paragraphs_retired_idx;
DROP INDEX paragraphs_current_position_key;
ALTER TABLE paragraphs ADD CONSTRAINT paragraphs_essay_id_position_key UNIQUE (essay_id, position);
ALTER TABLE paragraphs DROP COLUMN retired_in, DROP COLUMN introduced_in;
DROP TABLE essay_revisions;
ALTER TABLE essays DROP COLUMN revision;
