-- The run history: every run of every CronJob as HKS's recorder saw it,
-- with each finished attempt's log, kept after Kubernetes deleted the Job.

CREATE TABLE runs (
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    cronjob      TEXT NOT NULL,
    name         TEXT NOT NULL,               -- the Job's name, or missed-<minute> for a missed run
    result       TEXT NOT NULL,               -- hks_core::run::RunResult
    final        INTEGER NOT NULL,            -- 1 once the run has ended (its record no longer changes)
    created_at   TEXT NOT NULL,               -- the Job's creation (or the missed time): the order of runs
    finished_at  TEXT,
    run          TEXT NOT NULL,               -- JSON of hks_core::run::Run
    alerted      INTEGER NOT NULL DEFAULT 0,  -- 1 once the finished-run alerts were raised
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (project_id, cronjob, name)
) STRICT;

CREATE INDEX runs_newest ON runs(project_id, cronjob, created_at DESC);

CREATE TABLE run_logs (
    project_id      TEXT NOT NULL,
    cronjob         TEXT NOT NULL,
    run             TEXT NOT NULL,
    pod             TEXT NOT NULL,
    log             BLOB NOT NULL,            -- gzip of the kept text (hks_history::archive)
    original_bytes  INTEGER NOT NULL,
    truncated       INTEGER NOT NULL,
    archived_at     TEXT NOT NULL,
    PRIMARY KEY (project_id, cronjob, run, pod),
    FOREIGN KEY (project_id, cronjob, run) REFERENCES runs(project_id, cronjob, name) ON DELETE CASCADE
) STRICT;

-- Up to where each CronJob's schedule was compared with its runs.
CREATE TABLE missed_checks (
    project_id     TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    cronjob        TEXT NOT NULL,
    checked_until  TEXT NOT NULL,
    PRIMARY KEY (project_id, cronjob)
) STRICT;

-- A deleted CronJob takes its history with it.
CREATE TRIGGER applications_forget_runs AFTER DELETE ON applications
BEGIN
    DELETE FROM runs WHERE project_id = OLD.project_id AND cronjob = OLD.name;
    DELETE FROM missed_checks WHERE project_id = OLD.project_id AND cronjob = OLD.name;
END;
