DROP TABLE modlog;
DROP TABLE bans;
DROP TABLE invites;
DROP TABLE memberships;
DROP TABLE groups;
