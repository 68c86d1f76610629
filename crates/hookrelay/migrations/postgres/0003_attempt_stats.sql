-- Per-webhook statistics read attempts by webhook and time.
CREATE INDEX attempts_by_webhook_time ON attempts (webhook_id, started_at);
