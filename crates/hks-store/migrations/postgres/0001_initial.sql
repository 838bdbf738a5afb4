-- PostgreSQL's version of sqlite/0001_initial.sql: each migration here
-- gives the schema its SQLite namesake gives, in PostgreSQL's words.
-- INTEGER is BIGINT (SQLite's integers are 64-bit), BLOB is BYTEA, and text
-- compares and sorts byte by byte (COLLATE "C", SQLite's BINARY), whatever
-- the database's locale: names and timestamps are ordered as on SQLite.

CREATE TABLE tenants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    cluster     BYTEA NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT COLLATE "C" NOT NULL,
    hash        TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  TEXT COLLATE "C" NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE projects (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT COLLATE "C" NOT NULL,
    namespace   TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  TEXT COLLATE "C" NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE applications (
    id          TEXT COLLATE "C" PRIMARY KEY,
    project_id  TEXT COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name        TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL CHECK (type IN ('stateless', 'cronjob', 'function')),
    spec        TEXT COLLATE "C" NOT NULL,
    template    TEXT COLLATE "C",
    generation  BIGINT NOT NULL DEFAULT 1,
    created_at  TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL,
    UNIQUE (project_id, name)
);

CREATE INDEX applications_template ON applications(project_id, template);
