DROP TABLE notification_digests;
DROP INDEX notifications_mail_due_idx;
DROP TABLE notification_mails;
DROP TABLE notification_settings;
DROP TABLE email_verifications;
ALTER TABLE users DROP COLUMN email_verified_at;
