-- the items table
CREATE TABLE items (
    id integer PRIMARY KEY,
    name varchar(100) NOT NULL
);
