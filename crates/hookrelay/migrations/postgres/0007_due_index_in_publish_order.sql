-- Claims read due deliveries in this index's order and take only what each webhook has room
-- for. Ordered by webhook within a due time, one fan-out event's deliveries sat behind each
-- webhook's whole backlog, and a claim passed over thousands to find a few. Ordered by id
-- (ids grow with time), due deliveries come in publish order: a fan-out interleaves its
-- webhooks. Still covering: the webhook is read from the index, not the table.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id, webhook_id, status) WHERE status = 'pending';
