-- Ids are ASCII and time-ordered by their bytes. Under a database's linguistic collation every
-- comparison in their indexes went through the C library's strcoll (even "C.UTF-8" does on
-- PostgreSQL 15), which made each index insert and lookup on the hot path several times dearer
-- than a byte comparison, and could order ids other than by time (range reads by id rely on
-- byte order). The "C" collation compares bytes, as SQLite's BINARY does.
ALTER TABLE tenants ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE api_keys ALTER COLUMN tenant_id TYPE TEXT COLLATE "C";
ALTER TABLE webhooks
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C";
ALTER TABLE events ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE deliveries
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN event_id TYPE TEXT COLLATE "C",
    ALTER COLUMN webhook_id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C";
ALTER TABLE attempts
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN delivery_id TYPE TEXT COLLATE "C",
    ALTER COLUMN webhook_id TYPE TEXT COLLATE "C";
