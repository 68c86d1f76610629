-- The same shape as PostgreSQL's (migration 0020 there: a row per writer, summed by readers),
-- so both share their statements; SQLite has one writer, so every row stays writer 0.
CREATE TABLE attempt_hours_by_writer (
    webhook_id TEXT NOT NULL,
    hour_start INTEGER NOT NULL,
    writer     INTEGER NOT NULL DEFAULT 0,
    succeeded  INTEGER NOT NULL,
    failed     INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, hour_start, writer)
) WITHOUT ROWID;
INSERT INTO attempt_hours_by_writer (webhook_id, hour_start, succeeded, failed)
SELECT webhook_id, hour_start, succeeded, failed FROM attempt_hours;
DROP TABLE attempt_hours;
ALTER TABLE attempt_hours_by_writer RENAME TO attempt_hours;
CREATE INDEX attempt_hours_by_hour ON attempt_hours (hour_start);
