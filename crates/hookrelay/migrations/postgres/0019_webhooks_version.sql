-- A version of each tenant's set of active webhooks as a publish sees them (their ids, event
-- types, channels, filters, ordering, `updated_at`), so a node can keep the set in memory
-- (store/subscriptions.rs) and read one number per tenant per publish instead of every webhook.
-- Versions come from one sequence, so a tenant deleted and created again never reuses a version
-- its earlier webhooks were cached under. Every statement that changes what a publish reads
-- lists `updated_at` (the recorder's failure clock does not), so the trigger fires on those only.
CREATE SEQUENCE webhooks_versions;
ALTER TABLE tenants ADD COLUMN webhooks_version BIGINT NOT NULL DEFAULT nextval('webhooks_versions');

CREATE FUNCTION bump_webhooks_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE tenants SET webhooks_version = nextval('webhooks_versions') WHERE id = NEW.tenant_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE tenants SET webhooks_version = nextval('webhooks_versions') WHERE id = OLD.tenant_id;
    ELSE
        UPDATE tenants SET webhooks_version = nextval('webhooks_versions')
        WHERE id IN (OLD.tenant_id, NEW.tenant_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhooks_version AFTER INSERT OR DELETE OR UPDATE OF
    tenant_id, active, events, channels, payload_filter, ordering, ordering_key, updated_at
    ON webhooks FOR EACH ROW EXECUTE FUNCTION bump_webhooks_version();
