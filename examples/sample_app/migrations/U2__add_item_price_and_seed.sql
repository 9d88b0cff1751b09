-- Undo of V2: remove the seed rows, then the price column (SQLite needs 3.35 or newer for DROP COLUMN).
DELETE FROM items WHERE id IN (1, 2, 3);

ALTER TABLE items DROP COLUMN price_cents;
