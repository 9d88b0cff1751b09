DROP VIEW IF EXISTS items_view;
CREATE VIEW items_view AS SELECT id, name FROM items;
