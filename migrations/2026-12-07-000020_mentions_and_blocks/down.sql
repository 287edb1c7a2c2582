DROP TABLE blocks;
DROP TABLE comment_mentions;
