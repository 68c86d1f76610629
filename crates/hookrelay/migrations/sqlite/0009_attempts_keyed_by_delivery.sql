-- An attempt is only ever read through its delivery, so the table is keyed by delivery
-- (WITHOUT ROWID: the rows live in that key's B-tree). Each recorded attempt wrote three
-- B-trees (the rows, the id's unique index, the index by delivery), now one. Ids grow with
-- time, so new rows land at the tree's right edge.
CREATE TABLE attempts_rebuilt (
    id            TEXT NOT NULL,
    delivery_id   TEXT NOT NULL,
    webhook_id    TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    latency_ms    INTEGER NOT NULL,
    status_code   INTEGER,
    response_body TEXT,
    error         TEXT,
    succeeded     BOOLEAN NOT NULL,
    PRIMARY KEY (delivery_id, id)
) WITHOUT ROWID;
INSERT INTO attempts_rebuilt SELECT id, delivery_id, webhook_id, attempt, started_at, latency_ms,
    status_code, response_body, error, succeeded FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_rebuilt RENAME TO attempts;
