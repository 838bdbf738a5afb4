-- PostgreSQL's version of sqlite/0010_alert_destinations.sql: the
-- deliveries' URL and secret become optional in place.
ALTER TABLE alert_settings ADD COLUMN destination BYTEA
    CHECK (destination IS NULL OR (webhook_url IS NULL AND webhook_secret IS NULL));

ALTER TABLE deliveries
    ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'webhook'
        CHECK (kind IN ('webhook', 'slack', 'teams', 'email')),
    ADD COLUMN destination BYTEA,
    ALTER COLUMN url DROP NOT NULL,
    ALTER COLUMN secret DROP NOT NULL,
    ADD CHECK (CASE kind
        WHEN 'webhook' THEN url IS NOT NULL AND secret IS NOT NULL AND destination IS NULL
        ELSE url IS NULL AND secret IS NULL AND destination IS NOT NULL
    END);
