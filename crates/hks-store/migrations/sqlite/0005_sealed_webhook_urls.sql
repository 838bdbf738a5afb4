-- Webhook URLs are sealed like the secrets beside them (issue 13): a URL
-- often is a credential itself (a token in its path or query). SQL cannot
-- seal, so this migration moves each stored URL as it is into a BLOB column
-- and lists its row in `unsealed_webhook_urls`; the store seals the listed
-- values with the installation's key when it opens the database, and
-- empties the list in the same transaction (Store::seal_plain_urls).

CREATE TABLE unsealed_webhook_urls (
    tbl  TEXT NOT NULL CHECK (tbl IN ('alert_settings', 'deliveries')),
    k1   TEXT NOT NULL,                      -- alert_settings: project_id; deliveries: id
    k2   TEXT NOT NULL DEFAULT '',           -- alert_settings: cronjob
    PRIMARY KEY (tbl, k1, k2)
) STRICT;

-- The trigger names alert_settings: it goes while the table is rebuilt.
DROP TRIGGER applications_delete_alerts;

CREATE TABLE alert_settings_new (
    project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    cronjob         TEXT NOT NULL,           -- a CronJob's name, or '' for the project's default
    rules           TEXT NOT NULL,           -- JSON of hks_history::alerts::AlertRules
    webhook_url     BLOB,                    -- sealed, bound to "alert-settings-url:<project_id>/<cronjob>"
    webhook_secret  BLOB,                    -- sealed, bound to "alert-settings:<project_id>/<cronjob>"
    updated_at      TEXT NOT NULL,
    UNIQUE (project_id, cronjob),
    -- A webhook is always signed.
    CHECK ((webhook_url IS NULL) = (webhook_secret IS NULL))
) STRICT;

INSERT INTO alert_settings_new (project_id, cronjob, rules, webhook_url, webhook_secret, updated_at)
    SELECT project_id, cronjob, rules, CAST(webhook_url AS BLOB), webhook_secret, updated_at
    FROM alert_settings;
INSERT INTO unsealed_webhook_urls (tbl, k1, k2)
    SELECT 'alert_settings', project_id, cronjob FROM alert_settings WHERE webhook_url IS NOT NULL;
DROP TABLE alert_settings;
ALTER TABLE alert_settings_new RENAME TO alert_settings;

CREATE TABLE deliveries_new (
    id              TEXT PRIMARY KEY,        -- X-HKS-Delivery: the same on every attempt
    alert_id        TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    url             BLOB NOT NULL,           -- the webhook's URL when the alert was raised, sealed, bound to "delivery-url:<id>"
    secret          BLOB NOT NULL,           -- the webhook's secret when the alert was raised, sealed, bound to "delivery:<id>"
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,  -- attempts started (counted before sending)
    next_attempt_at INTEGER,                 -- unix milliseconds; while pending
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    TEXT
) STRICT;

INSERT INTO deliveries_new (id, alert_id, url, secret, state, attempts, next_attempt_at, last_status, last_error, delivered_at)
    SELECT id, alert_id, CAST(url AS BLOB), secret, state, attempts, next_attempt_at, last_status, last_error, delivered_at
    FROM deliveries;
INSERT INTO unsealed_webhook_urls (tbl, k1) SELECT 'deliveries', id FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;

CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
CREATE INDEX deliveries_by_alert ON deliveries(alert_id);

CREATE TRIGGER applications_delete_alerts AFTER DELETE ON applications
BEGIN
    DELETE FROM alert_settings WHERE project_id = OLD.project_id AND cronjob = OLD.name;
    DELETE FROM alerts WHERE project_id = OLD.project_id AND cronjob = OLD.name;
END;
