-- Test sends are logged as deliveries marked `test`. SQLite adds a column with a constant
-- default without rewriting the table, and publishes leave it out of their inserts, so the hot
-- path writes exactly what it wrote before.
ALTER TABLE deliveries ADD COLUMN test BOOLEAN NOT NULL DEFAULT 0;
