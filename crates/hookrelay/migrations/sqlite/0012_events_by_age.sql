-- Retention purges events older than `retention_days` that no delivery refers to. Their ids are
-- the publishers', so nothing orders them by time: this index does, and the purge walks it in
-- (created_at, id) order from where its last batch stopped. Times grow, so each new event's
-- entry lands at the index's right edge: one cheap index write per event, none per delivery.
-- (An index of deliveries by event would have answered "does any delivery refer to it?"
-- directly, but it cost every delivery an entry at a random place; it went in 0005.)
CREATE INDEX events_by_age ON events (created_at, id);
