-- Each webhook's attempts counted per UTC hour (store/shared/hours.rs), kept by the recorder in
-- the statement that records the attempts, so the dashboard's charts and rates over 24 hours,
-- 7 days and 30 days read at most 720 rows per webhook however many attempts there were.
-- Kept for 31 days whatever the retention of the delivery log.
CREATE TABLE attempt_hours (
    webhook_id TEXT NOT NULL,
    hour_start BIGINT NOT NULL,
    succeeded  BIGINT NOT NULL,
    failed     BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, hour_start)
);
-- What retention deletes: hours more than 31 days old.
CREATE INDEX attempt_hours_by_hour ON attempt_hours (hour_start);
-- The attempts already logged, from their own rows.
INSERT INTO attempt_hours (webhook_id, hour_start, succeeded, failed)
SELECT webhook_id, started_at - started_at % 3600000,
       count(*) FILTER (WHERE succeeded), count(*) FILTER (WHERE NOT succeeded)
FROM attempts
WHERE started_at >= (extract(epoch FROM now()) * 1000)::bigint - 31::bigint * 86400000
GROUP BY 1, 2;
