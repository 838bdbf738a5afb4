-- A known value sealed with the installation's encryption key: opening the
-- database with another key fails at once, instead of leaving every stored
-- credential unreadable.
CREATE TABLE key_check (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    sealed BLOB NOT NULL
) STRICT;
