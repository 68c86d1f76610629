-- Test sends are logged as deliveries marked `test`. With a constant default, adding the column
-- changes only the catalog (no table rewrite), and publishes leave it out of their inserts, so
-- the hot path writes exactly what it wrote before.
ALTER TABLE deliveries ADD COLUMN test BOOLEAN NOT NULL DEFAULT FALSE;
