-- Times are unix milliseconds; JSON-valued settings are TEXT. Both match the PostgreSQL schema,
-- so the shared queries read the same on either backend.

CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    contact_email TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- The tenant an admin key acts on by default; it always exists.
INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('default', 'Default', 0, 0);

-- Keys are stored as SHA-256 hashes only. tenant_id NULL marks the generated admin key.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL UNIQUE,
    tenant_id  TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    prefix     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE event_types (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    example     TEXT,
    json_schema TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE webhooks (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url                   TEXT NOT NULL,
    description           TEXT NOT NULL,
    events                TEXT NOT NULL,
    channels              TEXT NOT NULL,
    secret                TEXT NOT NULL,
    active                BOOLEAN NOT NULL,
    disabled_reason       TEXT,
    retry_schedule        TEXT NOT NULL,
    timeout_seconds       INTEGER NOT NULL,
    rate_limit_per_second INTEGER,
    headers               TEXT NOT NULL,
    signature             TEXT NOT NULL,
    payload_format        TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id, id);

CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    tenants    TEXT NOT NULL,
    channels   TEXT NOT NULL,
    data       TEXT NOT NULL,
    deliveries INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- The queue. A claimed delivery is leased by moving next_attempt_at past the lease.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    tenant_id       TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_by_event ON deliveries (event_id);

CREATE TABLE attempts (
    id            TEXT PRIMARY KEY,
    delivery_id   TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    webhook_id    TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    latency_ms    INTEGER NOT NULL,
    status_code   INTEGER,
    response_body TEXT,
    error         TEXT,
    succeeded     BOOLEAN NOT NULL
);
CREATE INDEX attempts_by_delivery ON attempts (delivery_id);
