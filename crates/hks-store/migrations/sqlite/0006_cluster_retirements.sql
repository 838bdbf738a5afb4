-- Clusters, or namespaces in them, that HKS stopped managing (a tenant
-- deleted, a tenant's cluster replaced) and still has to clean up: their
-- namespaces deleted and HKS's finalizers released, so nothing keeps firing
-- or waits for a recorder that no longer looks. No foreign key: the tenant
-- may be gone.
CREATE TABLE cluster_retirements (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    tenant_name TEXT NOT NULL,
    reason      TEXT NOT NULL,
    connection  BLOB NOT NULL,      -- sealed, context `retirement:<id>`
    namespaces  TEXT NOT NULL,      -- JSON array of namespace names
    created_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
