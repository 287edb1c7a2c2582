-- The reader's seen counts per paragraph of a session (src/unread/models.rs
-- `paragraph_seen`): one index range over paragraph_reads, however many
-- threads the reader has marked. A paragraph's unread count is its
-- paragraph_counts.comment_count less `seen` (the rule, "UNREAD BY
-- ARITHMETIC", is stated in src/db/replaceable/triggers.sql).
-- $1 the reader, $2 the session.
SELECT p.paragraph_id AS id, p.seen::bigint AS seen
  FROM paragraph_reads p
 WHERE p.user_id = $1 AND p.session_id = $2 AND p.seen <> 0
