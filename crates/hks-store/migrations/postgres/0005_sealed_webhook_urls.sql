-- PostgreSQL's version of sqlite/0005_sealed_webhook_urls.sql: the URLs
-- become BYTEA in place (PostgreSQL alters a column's type without
-- rebuilding the table), listed for the store to seal when it opens.

CREATE TABLE unsealed_webhook_urls (
    tbl  TEXT COLLATE "C" NOT NULL CHECK (tbl IN ('alert_settings', 'deliveries')),
    k1   TEXT COLLATE "C" NOT NULL,
    k2   TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (tbl, k1, k2)
);

ALTER TABLE alert_settings ALTER COLUMN webhook_url TYPE BYTEA USING convert_to(webhook_url, 'UTF8');
INSERT INTO unsealed_webhook_urls (tbl, k1, k2)
    SELECT 'alert_settings', project_id, cronjob FROM alert_settings WHERE webhook_url IS NOT NULL;

ALTER TABLE deliveries ALTER COLUMN url TYPE BYTEA USING convert_to(url, 'UTF8');
INSERT INTO unsealed_webhook_urls (tbl, k1) SELECT 'deliveries', id FROM deliveries;
