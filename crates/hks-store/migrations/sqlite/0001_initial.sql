-- Tenants, their API tokens, projects and applications. The user's
-- configuration lives here; Kubernetes objects are derived from it.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,            -- 8 lowercase hex digits, part of namespaces
    name        TEXT NOT NULL UNIQUE,
    cluster     BLOB NOT NULL,               -- ChaCha20-Poly1305(nonce || ciphertext) of the connection JSON
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,        -- hex SHA-256 of the token; the token itself is never stored
    created_at  TEXT NOT NULL,
    UNIQUE (tenant_id, name)
) STRICT;

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    namespace   TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    UNIQUE (tenant_id, name)
) STRICT;

CREATE TABLE applications (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL CHECK (type IN ('stateless', 'cronjob', 'function')),
    spec        TEXT NOT NULL,               -- JSON of hks_core::spec::*Spec
    template    TEXT,                        -- for CronJobs made from a template: its application name
    generation  INTEGER NOT NULL DEFAULT 1,  -- bumped on every change
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (project_id, name)
) STRICT;

CREATE INDEX applications_template ON applications(project_id, template);
