-- The catalogue the /items endpoint serves. Portable SQL: runs on SQLite and PostgreSQL.
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);
