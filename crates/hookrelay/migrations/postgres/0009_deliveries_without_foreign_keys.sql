-- Deliveries and attempts keep no foreign keys. Each checked its parent row per inserted row
-- (a trigger running a query that locks the parent): three per delivery, a tenth of the
-- server's time. The store now deletes a webhook's deliveries and attempts itself, in the
-- transaction that deletes the webhook; a publish locks the webhooks it targets once per
-- batch (FOR KEY SHARE), so that deletion waits for it; and an attempt is recorded only for
-- a delivery that still exists. Events are never deleted, and a delivery is written with its
-- event.
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_event_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_webhook_id_fkey;
ALTER TABLE attempts DROP CONSTRAINT IF EXISTS attempts_delivery_id_fkey;
