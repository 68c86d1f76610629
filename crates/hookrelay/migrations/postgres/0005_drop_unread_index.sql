-- Nothing reads deliveries by event (events are never deleted, so no cascade needs it either),
-- and every delivery inserted paid for this index.
DROP INDEX deliveries_by_event;
