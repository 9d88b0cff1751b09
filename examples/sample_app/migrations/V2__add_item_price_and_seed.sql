-- Items get a price (in cents, so no floating point) and the first few catalogue entries.
ALTER TABLE items ADD COLUMN price_cents INTEGER NOT NULL DEFAULT 0;

INSERT INTO items (id, name, description, price_cents) VALUES
    (1, 'conveyor belt', 'Moves parcels from one stage to the next', 129900),
    (2, 'parcel scanner', 'Reads the label of every parcel', 24950),
    (3, 'sorting gate', 'Sends each parcel to its lane', 8900);
