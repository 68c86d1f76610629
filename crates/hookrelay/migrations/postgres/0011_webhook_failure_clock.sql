-- When hookrelay disabled a webhook, and since when its attempts have all failed (NULL after a
-- success). The clock is kept by the batched attempt recorder; a webhook failing for longer than
-- `disable_after_seconds` is disabled there. A disabled webhook's pending deliveries are parked:
-- `next_attempt_at` NULL, so no claim reads them until the webhook is enabled again.
ALTER TABLE webhooks ADD COLUMN disabled_at BIGINT, ADD COLUMN failing_since BIGINT;
-- The running clocks, few: a batch whose attempts all succeeded stops its webhooks' clocks
-- through this small index instead of looking up each of them.
CREATE INDEX webhooks_failing ON webhooks (id) WHERE failing_since IS NOT NULL;
