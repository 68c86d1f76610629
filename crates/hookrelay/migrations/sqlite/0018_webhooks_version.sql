-- A version of each tenant's set of active webhooks as a publish sees them (their ids, event
-- types, channels, filters, ordering, `updated_at`), so the store can keep the set in memory
-- (store/subscriptions.rs) and read one number per tenant per publish instead of every webhook.
-- Versions come from one counter, so a tenant deleted and created again never reuses a version
-- its earlier webhooks were cached under. Every statement that changes what a publish reads
-- lists `updated_at` (the recorder's failure clock does not), so the triggers fire on those only.
CREATE TABLE webhooks_versions (last INTEGER NOT NULL);
INSERT INTO webhooks_versions (last) VALUES (0);
ALTER TABLE tenants ADD COLUMN webhooks_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER tenants_version AFTER INSERT ON tenants BEGIN
    UPDATE webhooks_versions SET last = last + 1;
    UPDATE tenants SET webhooks_version = (SELECT last FROM webhooks_versions) WHERE id = NEW.id;
END;

CREATE TRIGGER webhooks_version_insert AFTER INSERT ON webhooks BEGIN
    UPDATE webhooks_versions SET last = last + 1;
    UPDATE tenants SET webhooks_version = (SELECT last FROM webhooks_versions)
    WHERE id = NEW.tenant_id;
END;

CREATE TRIGGER webhooks_version_update AFTER UPDATE OF
    tenant_id, active, events, channels, payload_filter, ordering, ordering_key, updated_at
    ON webhooks BEGIN
    UPDATE webhooks_versions SET last = last + 1;
    UPDATE tenants SET webhooks_version = (SELECT last FROM webhooks_versions)
    WHERE id IN (OLD.tenant_id, NEW.tenant_id);
END;

CREATE TRIGGER webhooks_version_delete AFTER DELETE ON webhooks BEGIN
    UPDATE webhooks_versions SET last = last + 1;
    UPDATE tenants SET webhooks_version = (SELECT last FROM webhooks_versions)
    WHERE id = OLD.tenant_id;
END;
