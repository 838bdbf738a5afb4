-- PostgreSQL's version of sqlite/0002_runs.sql.

CREATE TABLE runs (
    project_id   TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    cronjob      TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    result       TEXT COLLATE "C" NOT NULL,
    final        BIGINT NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    finished_at  TEXT COLLATE "C",
    run          TEXT COLLATE "C" NOT NULL,
    alerted      BIGINT NOT NULL DEFAULT 0,
    recorded_at  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (project_id, cronjob, name)
);

CREATE INDEX runs_newest ON runs(project_id, cronjob, created_at DESC);

CREATE TABLE run_logs (
    project_id      TEXT COLLATE "C" NOT NULL,
    cronjob         TEXT COLLATE "C" NOT NULL,
    run             TEXT COLLATE "C" NOT NULL,
    pod             TEXT COLLATE "C" NOT NULL,
    log             BYTEA NOT NULL,
    original_bytes  BIGINT NOT NULL,
    truncated       BIGINT NOT NULL,
    archived_at     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (project_id, cronjob, run, pod),
    FOREIGN KEY (project_id, cronjob, run) REFERENCES runs(project_id, cronjob, name) ON DELETE CASCADE
);

CREATE TABLE missed_checks (
    project_id     TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    cronjob        TEXT COLLATE "C" NOT NULL,
    checked_until  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (project_id, cronjob)
);

-- A deleted CronJob takes its history with it.
CREATE FUNCTION applications_forget_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM runs WHERE project_id = OLD.project_id AND cronjob = OLD.name;
    DELETE FROM missed_checks WHERE project_id = OLD.project_id AND cronjob = OLD.name;
    RETURN OLD;
END;
$$;

CREATE TRIGGER applications_forget_runs AFTER DELETE ON applications
    FOR EACH ROW EXECUTE FUNCTION applications_forget_runs();
