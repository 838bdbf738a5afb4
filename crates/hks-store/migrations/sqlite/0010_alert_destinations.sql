-- Alert destinations people already use (issue 17): besides the signed
-- webhook, Slack- and Teams-compatible incoming webhooks and email.
--
-- A signed webhook stays where it was (webhook_url, webhook_secret), so
-- settings stored before read as they did. Any other destination is one
-- sealed JSON value in `destination`: {"kind": "slack"|"teams", "url": ...}
-- (the URL is the credential) or {"kind": "email", "to": [...]}, bound to
-- "alert-settings-destination:<project_id>/<cronjob>". Added as a column,
-- not by rebuilding the table, so that columns other changes add to
-- alert_settings are kept.
ALTER TABLE alert_settings ADD COLUMN destination BLOB
    CHECK (destination IS NULL OR (webhook_url IS NULL AND webhook_secret IS NULL));

-- A delivery keeps its own copy of where it goes, as before: a webhook's
-- URL and secret in `url` and `secret`, any other destination sealed in
-- `destination` (bound to "delivery-destination:<id>"). `kind` says which,
-- in clear, for the history. The URL and secret become optional, which
-- SQLite can only do by rebuilding the table.
CREATE TABLE deliveries_new (
    id              TEXT PRIMARY KEY,        -- X-HKS-Delivery (and an email's Message-ID): the same on every attempt
    alert_id        TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL DEFAULT 'webhook' CHECK (kind IN ('webhook', 'slack', 'teams', 'email')),
    url             BLOB,                    -- webhook: its URL when the alert was raised, sealed, bound to "delivery-url:<id>"
    secret          BLOB,                    -- webhook: its secret when the alert was raised, sealed, bound to "delivery:<id>"
    destination     BLOB,                    -- slack, teams, email: sealed JSON, bound to "delivery-destination:<id>"
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,  -- attempts started (counted before sending)
    next_attempt_at INTEGER,                 -- unix milliseconds; while pending
    last_status     INTEGER,                 -- the receiver's HTTP status, or the SMTP server's reply code
    last_error      TEXT,
    delivered_at    TEXT,
    CHECK (CASE kind
        WHEN 'webhook' THEN url IS NOT NULL AND secret IS NOT NULL AND destination IS NULL
        ELSE url IS NULL AND secret IS NULL AND destination IS NOT NULL
    END)
) STRICT;

INSERT INTO deliveries_new (id, alert_id, kind, url, secret, destination, state, attempts, next_attempt_at, last_status, last_error, delivered_at)
    SELECT id, alert_id, 'webhook', url, secret, NULL, state, attempts, next_attempt_at, last_status, last_error, delivered_at
    FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;

CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
CREATE INDEX deliveries_by_alert ON deliveries(alert_id);
