ALTER TABLE items ADD COLUMN price numeric(10, 2);
INSERT INTO items (id, name, price) VALUES (1, '${first_item}', 9.50);
