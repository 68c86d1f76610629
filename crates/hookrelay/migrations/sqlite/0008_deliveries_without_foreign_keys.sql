-- Deliveries and attempts keep no foreign keys. A multi-row insert into a table with an
-- immediate foreign key (or under the default ABORT conflict mode) makes SQLite keep a
-- statement journal, a copy of every page the statement touches, in case it must undo just
-- that statement; with the parent lookups that was a tenth of the writer's time, on every
-- publish and every result. The store now deletes a webhook's deliveries and attempts itself,
-- in the transaction that deletes the webhook, and records an attempt only for a delivery that
-- still exists. Events are never deleted, and a delivery is written with its event.
--
-- SQLite cannot drop a constraint: both tables are rebuilt. Attempts first, so that no table
-- refers to deliveries when it is dropped (dropping a parent would cascade).
CREATE TABLE attempts_rebuilt (
    id            TEXT PRIMARY KEY,
    delivery_id   TEXT NOT NULL,
    webhook_id    TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    latency_ms    INTEGER NOT NULL,
    status_code   INTEGER,
    response_body TEXT,
    error         TEXT,
    succeeded     BOOLEAN NOT NULL
);
INSERT INTO attempts_rebuilt SELECT id, delivery_id, webhook_id, attempt, started_at, latency_ms,
    status_code, response_body, error, succeeded FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_rebuilt RENAME TO attempts;
CREATE INDEX attempts_by_delivery ON attempts (delivery_id);

CREATE TABLE deliveries_rebuilt (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
INSERT INTO deliveries_rebuilt SELECT id, event_id, webhook_id, tenant_id, event_type, status,
    attempts, next_attempt_at, created_at, updated_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_rebuilt RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id, webhook_id, status) WHERE status = 'pending';
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
