//! The operator's operational webhook: `webhook.disabled` and `webhook.enabled` events, signed
//! with Standard Webhooks and delivered like any other delivery (durably, with retries). They
//! go through a webhook of an internal tenant that this module keeps in step with the settings
//! at every start, so the delivery pipeline needs nothing special for them.

use anyhow::Context;

use crate::clock::{now_ms, rfc3339};
use crate::config::Config;
use crate::ids::{EventId, TenantId, WebhookId};
use crate::model::{
    CustomHeaders, EventFilter, RetrySchedule, TimeoutSeconds, UrlPolicy, WebhookUrl,
};
use crate::store::{self, NewEvent, NoIntake, Store, Tenant, Webhook};

/// The internal tenant whose one webhook is the operational webhook.
pub const TENANT: &str = "hookrelay-operations";

/// That webhook's id.
const WEBHOOK: &str = "wh_operations";

/// Creates or updates the operations tenant and its webhook from the settings; answers the
/// tenant when an operational webhook is configured. Without one, its webhook is disabled, so
/// events raised meanwhile are not sent anywhere.
pub async fn settle(
    config: &Config,
    store: &dyn Store,
    policy: UrlPolicy,
) -> anyhow::Result<Option<TenantId>> {
    let tenant = TenantId::from_trusted(TENANT);
    let configured = match (
        &config.operational_webhook_url,
        &config.operational_webhook_secret,
    ) {
        (Some(url), Some(secret)) => Some((
            WebhookUrl::parse(url, policy)
                .map_err(|e| anyhow::anyhow!("operational_webhook_url: {}", e.message))?,
            secret.expose().to_owned(),
        )),
        _ => None,
    };
    let now = now_ms();
    let existing = match store.get_tenant(&tenant).await {
        Ok(_) => store
            .get_webhook(&tenant, &WebhookId::from_trusted(WEBHOOK))
            .await
            .ok(),
        Err(store::Error::NotFound) => {
            if configured.is_none() {
                return Ok(None);
            }
            let t = Tenant {
                id: tenant.clone(),
                name: "hookrelay operations".to_owned(),
                contact_email: None,
                created_at: now,
                updated_at: now,
            };
            match store.create_tenant(&t).await {
                // Another node starting at the same time created it.
                Ok(()) | Err(store::Error::Conflict) => None,
                Err(e) => return Err(e).context("creating the operations tenant"),
            }
        }
        Err(e) => return Err(e).context("reading the operations tenant"),
    };
    let Some((url, secret)) = configured else {
        if let Some(mut w) = existing.filter(|w| w.active) {
            w.active = false;
            w.disabled_reason = Some("manual".to_owned());
            w.disabled_at = Some(now);
            w.updated_at = now;
            store.update_webhook(&w).await?;
        }
        return Ok(None);
    };
    let create = existing.is_none();
    let mut webhook = existing.unwrap_or_else(|| Webhook {
        id: WebhookId::from_trusted(WEBHOOK),
        tenant_id: tenant.clone(),
        url: url.clone(),
        description: "The operator's operational webhook (from the settings)".to_owned(),
        events: EventFilter::from_trusted(vec!["webhook.*".to_owned()]),
        channels: Vec::new(),
        filter: None,
        secret: String::new(),
        previous_secret: None,
        active: true,
        disabled_reason: None,
        disabled_at: None,
        failing_since: None,
        retry_schedule: RetrySchedule::default(),
        timeout_seconds: TimeoutSeconds::default(),
        rate_limit_per_second: None,
        headers: CustomHeaders::default(),
        signature: Default::default(),
        payload_format: Default::default(),
        ordering: Default::default(),
        created_at: now,
        updated_at: now,
    });
    if !create && webhook.url == url && webhook.secret == secret && webhook.active {
        return Ok(Some(tenant));
    }
    webhook.url = url;
    webhook.secret = secret;
    webhook.active = true;
    webhook.disabled_reason = None;
    webhook.disabled_at = None;
    webhook.updated_at = now;
    let written = if create {
        store.create_webhook(&webhook).await
    } else {
        store.update_webhook(&webhook).await.map(|_| ())
    };
    match written {
        Ok(()) | Err(store::Error::Conflict) => Ok(Some(tenant)),
        Err(e) => Err(e).context("writing the operational webhook"),
    }
}

/// Publishes `webhook.enabled` for `webhook`, re-enabled by a person.
pub async fn announce_enabled(
    store: &dyn Store,
    operations: &TenantId,
    webhook: &Webhook,
) -> store::Result<()> {
    let data = serde_json::json!({
        "webhook_id": webhook.id.as_str(),
        "tenant_id": webhook.tenant_id.as_str(),
        "url": webhook.url.masked(),
        "enabled_at": rfc3339(webhook.updated_at),
    });
    let event = NewEvent {
        id: EventId::generate(),
        event_type: "webhook.enabled".to_owned(),
        tenants: vec![operations.clone()],
        channels: Vec::new(),
        data: data.to_string(),
        created_at: now_ms(),
    };
    store
        .publish_many(&[event], &mut NoIntake)
        .await
        .map(|_| ())
}
