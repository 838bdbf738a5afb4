-- Alerts (issue 6): which alerts a CronJob or a project wants and where they
-- go, the alerts raised, and their webhook deliveries.

CREATE TABLE alert_settings (
    project_id      TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    cronjob         TEXT NOT NULL,           -- a CronJob's name, or '' for the project's default
    rules           TEXT NOT NULL,           -- JSON of hks_history::alerts::AlertRules
    webhook_url     TEXT,
    webhook_secret  BLOB,                    -- ChaCha20-Poly1305(nonce || ciphertext), bound to "alert-settings:<project_id>/<cronjob>"
    updated_at      TEXT NOT NULL,
    UNIQUE (project_id, cronjob),
    -- A webhook is always signed.
    CHECK ((webhook_url IS NULL) = (webhook_secret IS NULL))
) STRICT;

CREATE TABLE alerts (
    seq         INTEGER PRIMARY KEY,         -- insertion order: newest first is seq DESC
    id          TEXT NOT NULL UNIQUE,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    cronjob     TEXT NOT NULL,
    key         TEXT NOT NULL,               -- hks_history's alert key: raising is idempotent
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,               -- the run (a Job name), or the missed time
    summary     TEXT NOT NULL,
    raised_at   TEXT NOT NULL,
    UNIQUE (project_id, cronjob, key)
) STRICT;

CREATE INDEX alerts_by_cronjob ON alerts(project_id, cronjob, seq);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,        -- X-HKS-Delivery: the same on every attempt
    alert_id        TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    secret          BLOB NOT NULL,           -- the webhook's secret when the alert was raised, sealed, bound to "delivery:<id>"
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,  -- attempts started (counted before sending)
    next_attempt_at INTEGER,                 -- unix milliseconds; while pending
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    TEXT
) STRICT;

CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
CREATE INDEX deliveries_by_alert ON deliveries(alert_id);

-- A CronJob's alert settings and alerts go with it (its project's go with
-- the project through the foreign keys).
CREATE TRIGGER applications_delete_alerts AFTER DELETE ON applications
BEGIN
    DELETE FROM alert_settings WHERE project_id = OLD.project_id AND cronjob = OLD.name;
    DELETE FROM alerts WHERE project_id = OLD.project_id AND cronjob = OLD.name;
END;
