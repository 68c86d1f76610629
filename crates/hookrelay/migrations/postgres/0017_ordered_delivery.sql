-- Ordered delivery (docs/ordering.md, store/shared/ordering.rs). A webhook's `ordering` is
-- 'none' or 'fifo', with an optional key path; existing webhooks are unordered. Nullable
-- columns and a constant default change no existing row.
ALTER TABLE webhooks ADD COLUMN ordering TEXT NOT NULL DEFAULT 'none';
ALTER TABLE webhooks ADD COLUMN ordering_key TEXT;
-- A fifo webhook's delivery carries its queue's key and its place in that queue; both stay
-- NULL for every other delivery, which therefore never enters the index below.
ALTER TABLE deliveries ADD COLUMN ordering_key TEXT COLLATE "C";
ALTER TABLE deliveries ADD COLUMN ordering_seq BIGINT;
-- The pending deliveries of each queue in order: its head (the lowest place) and its tail
-- (the highest) are one seek each. A delivery leaves it when it finishes.
CREATE INDEX deliveries_ordered ON deliveries (webhook_id, ordering_key, ordering_seq)
    WHERE ordering_key IS NOT NULL AND status = 'pending';
