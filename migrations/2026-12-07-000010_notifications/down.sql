DROP TABLE notifier_cursor;
DROP TABLE watches;
DROP TABLE notification_deliveries;
DROP TABLE notifications;
