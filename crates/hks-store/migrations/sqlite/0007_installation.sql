-- The identity of this installation: the value of the `hks.dev/installation`
-- label on everything HKS creates in tenants' clusters, which its watches
-- and listings select, so that two installations sharing a cluster (staging
-- and production, each with a tenant `acme`) neither see nor remove each
-- other's objects. Made once, here, in the migration's transaction, so
-- every later start and every replica on this database keeps it: 12
-- lowercase hex characters (48 random bits), a valid label value.
CREATE TABLE installation (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    installation_id TEXT NOT NULL CHECK (length(installation_id) BETWEEN 1 AND 63)
) STRICT;

INSERT INTO installation (id, installation_id) VALUES (1, lower(hex(randomblob(6))));
