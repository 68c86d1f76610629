-- Statistics find a webhook's attempts through its deliveries (deliveries_by_webhook and
-- attempts_by_delivery), so this index is not needed. With many webhooks it dirtied one page
-- per webhook on every batch of recorded attempts, which is write amplification on the hot path.
DROP INDEX attempts_by_webhook_time;
