-- Claims skip webhooks at their concurrency limit (`webhook_id NOT IN (...)`). With the webhook
-- (and id and status, which SQLite needs listed to call the index covering) in the index,
-- skipping a due delivery costs an index entry, not a table row lookup: a deep backlog of a
-- hanging endpoint no longer slows every claim.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, webhook_id, id, status) WHERE status = 'pending';
