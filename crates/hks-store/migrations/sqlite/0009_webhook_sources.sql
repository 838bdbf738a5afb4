-- Project files (issue 18): where the last file applied said to read a
-- webhook's URL and secret ({"fromEnv": "NAME"} or {"fromFile": "PATH"}, as
-- JSON), so that exporting the project writes the same references. Never
-- the values: those stay sealed in webhook_url and webhook_secret. NULL
-- when the webhook was set through the API.
ALTER TABLE alert_settings ADD COLUMN webhook_url_source TEXT;
ALTER TABLE alert_settings ADD COLUMN webhook_secret_source TEXT;
