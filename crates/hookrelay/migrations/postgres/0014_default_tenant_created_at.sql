-- The default tenant was inserted with created_at 0, so it said it was created in 1970. The
-- time this migration runs is the closest truth there is: it existed at least from then. Only
-- the untouched zero is replaced.
UPDATE tenants
SET created_at = (extract(epoch FROM now()) * 1000)::BIGINT
WHERE id = 'default' AND created_at = 0;
UPDATE tenants
SET updated_at = created_at
WHERE id = 'default' AND updated_at = 0;
