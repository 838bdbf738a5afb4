-- PostgreSQL's version of sqlite/0008_run_control.sql.
ALTER TABLE runs ADD COLUMN container TEXT COLLATE "C";

CREATE TABLE suspensions (
    project_id    TEXT COLLATE "C" NOT NULL,
    application   TEXT COLLATE "C" NOT NULL,
    suspended_by  TEXT COLLATE "C" NOT NULL,
    suspended_at  TEXT COLLATE "C" NOT NULL,
    reason        TEXT COLLATE "C",
    PRIMARY KEY (project_id, application),
    FOREIGN KEY (project_id, application) REFERENCES applications(project_id, name) ON DELETE CASCADE
);
