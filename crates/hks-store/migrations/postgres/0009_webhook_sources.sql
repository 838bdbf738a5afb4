-- PostgreSQL's version of sqlite/0009_webhook_sources.sql.
ALTER TABLE alert_settings ADD COLUMN webhook_url_source TEXT COLLATE "C";
ALTER TABLE alert_settings ADD COLUMN webhook_secret_source TEXT COLLATE "C";
