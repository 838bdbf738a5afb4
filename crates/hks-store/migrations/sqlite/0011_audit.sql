-- The audit log (issue 17): every change to projects, applications,
-- CronJobs, alert settings and tokens, and every run started or stopped by
-- hand, with who did it. Entries outlive what they are about: only the
-- tenant's deletion removes them. `changes` never holds a secret value
-- (hks_core::audit::diff redacts them before they get here).
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    project    TEXT,                  -- the project's name; NULL for the tenant's own (tokens)
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,         -- tenant/token, or admin
    action     TEXT NOT NULL,         -- hks_core::audit::AuditAction
    target     TEXT NOT NULL,         -- kind/name
    changes    TEXT NOT NULL          -- JSON array of hks_core::audit::FieldChange
) STRICT;

CREATE INDEX audit_by_project ON audit(tenant_id, project, id DESC);
