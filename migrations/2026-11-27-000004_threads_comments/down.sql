DROP TABLE comment_revisions;
DROP TABLE comments;
DROP FUNCTION pilcrow_comment_sort_key();
DROP SEQUENCE comments_seq;
DROP TABLE threads;
DROP FUNCTION pilcrow_thread_counted();
DROP FUNCTION pilcrow_comment_counted();
DROP FUNCTION pilcrow_bump_paragraph(uuid, uuid, integer, integer);
