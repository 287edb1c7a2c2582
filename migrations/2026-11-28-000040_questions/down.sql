DROP TABLE thread_answers;
DROP TABLE thread_votes;
-- CASCADE: the replaceable schema's triggers watch these columns.
ALTER TABLE paragraph_counts DROP COLUMN open_question_count CASCADE;
ALTER TABLE threads DROP COLUMN answer_count CASCADE, DROP COLUMN vote_count CASCADE, DROP COLUMN kind CASCADE;
