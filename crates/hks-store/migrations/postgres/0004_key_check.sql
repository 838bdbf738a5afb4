-- PostgreSQL's version of sqlite/0004_key_check.sql.
CREATE TABLE key_check (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    sealed BYTEA NOT NULL
);
