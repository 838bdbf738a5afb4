-- Run control (issue 16).
--
-- The container each run ran (JSON of a Kubernetes Container, secret values
-- only as references, as in the Job): a re-run repeats it after Kubernetes
-- deleted the run's Job and the CronJob changed. Written by the recorder
-- when it first sees the run in the cluster.
ALTER TABLE runs ADD COLUMN container TEXT;

-- Why, by whom and when a CronJob was suspended; gone once it is resumed.
CREATE TABLE suspensions (
    project_id    TEXT NOT NULL,
    application   TEXT NOT NULL,
    suspended_by  TEXT NOT NULL,              -- tenant/token
    suspended_at  TEXT NOT NULL,
    reason        TEXT,                       -- the user's note, at most 500 characters
    PRIMARY KEY (project_id, application),
    FOREIGN KEY (project_id, application) REFERENCES applications(project_id, name) ON DELETE CASCADE
) STRICT;
