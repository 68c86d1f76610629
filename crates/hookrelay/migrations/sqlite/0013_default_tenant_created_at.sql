-- The default tenant was inserted with created_at 0, so it said it was created in 1970. The
-- time this migration runs is the closest truth there is: it existed at least from then. Only
-- the untouched zero is replaced. (julianday rather than unixepoch('subsec'), which needs
-- SQLite 3.42.)
UPDATE tenants
SET created_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
WHERE id = 'default' AND created_at = 0;
UPDATE tenants
SET updated_at = created_at
WHERE id = 'default' AND updated_at = 0;
