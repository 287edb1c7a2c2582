DROP TABLE paragraph_counts;
DROP TABLE reading_sessions;
DROP TABLE paragraphs;
DROP TABLE essays;
