-- PostgreSQL's version of sqlite/0007_installation.sql: 12 lowercase hex
-- characters, 48 random bits (the first 12 digits of a version 4 UUID are
-- random; gen_random_uuid is built in since PostgreSQL 13).
CREATE TABLE installation (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    installation_id TEXT COLLATE "C" NOT NULL CHECK (length(installation_id) BETWEEN 1 AND 63)
);

INSERT INTO installation (id, installation_id)
    VALUES (1, substr(replace(gen_random_uuid()::text, '-', ''), 1, 12));
