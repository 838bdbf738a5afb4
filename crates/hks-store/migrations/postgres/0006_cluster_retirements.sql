-- PostgreSQL's version of sqlite/0006_cluster_retirements.sql.
CREATE TABLE cluster_retirements (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    tenant_name TEXT COLLATE "C" NOT NULL,
    reason      TEXT COLLATE "C" NOT NULL,
    connection  BYTEA NOT NULL,
    namespaces  TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT COLLATE "C"
);
