DROP VIEW IF EXISTS items_view;
DROP TABLE items;
