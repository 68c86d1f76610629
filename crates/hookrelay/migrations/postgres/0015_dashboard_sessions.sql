-- The web dashboard's sign-in state. Both tables hold SHA-256 hashes of the tokens only, so a
-- copy of the database signs nobody in. A link is single use (redeeming deletes it) and expires;
-- a session with no tenant is the operator's. Both go with their tenant.
CREATE TABLE dashboard_links (
    token_hash TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE dashboard_sessions (
    token_hash   TEXT PRIMARY KEY,
    tenant_id    TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
