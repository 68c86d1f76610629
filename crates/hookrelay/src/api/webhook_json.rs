//! A webhook's JSON: what the API reads (`WebhookIn` to create, `WebhookPatch` to change) and
//! writes (`WebhookOut`), and the parsing of input into a store `Webhook`. Every field goes
//! through its model type's `parse` or a check here, so an invalid value never reaches the store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::ApiError;
use super::webhook_secret::{check_secret, new_secret, public_key};
use super::whole::Whole;
use crate::clock::{now_ms, rfc3339};
use crate::ids::{TenantId, WebhookId};
use crate::model::{
    Channel, CustomHeaders, EventFilter, Ordering, OrderingMode, PayloadFilter, PayloadFormat,
    RetrySchedule, SignatureConfig, TimeoutSeconds, UrlPolicy, WebhookUrl,
};
use crate::store::Webhook;

/// A webhook.
#[derive(Serialize, ToSchema)]
pub struct WebhookOut {
    /// `wh_…`
    id: String,
    /// Where deliveries go.
    url: String,
    /// Free text.
    description: String,
    /// Event type patterns: names, `prefix.*`, or `*`; empty means all.
    events: Vec<String>,
    /// Only events carrying one of these channels; empty means all.
    channels: Vec<String>,
    /// Only events whose content holds this filter (docs/filters.md); null means all.
    #[schema(value_type = Option<Object>)]
    filter: Option<Value>,
    /// The signing secret, shared with the receiver. Absent with `standard-webhooks-v1a`,
    /// whose private key hookrelay keeps to itself: receivers verify with `public_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    /// `standard-webhooks-v1a` only: the Ed25519 public key (`whpk_` + the base64 of its 32
    /// bytes) that verifies every delivery's `v1a,` signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    /// `standard-webhooks-v1a` only, after a rotation: the replaced key's public key, which
    /// still signs every delivery beside the new one until `previous_public_key_expires_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_public_key: Option<String>,
    /// When `previous_public_key` stops signing (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_public_key_expires_at: Option<String>,
    /// Whether deliveries are made.
    active: bool,
    /// Why it was disabled, if it was: `failing` (every attempt failed for
    /// `disable_after_seconds`), `gone` (the endpoint answered 410) or `manual`.
    disabled_reason: Option<String>,
    /// When it was disabled (RFC 3339).
    disabled_at: Option<String>,
    /// Since when every attempt has failed (RFC 3339); null after a success. At
    /// `disable_after_seconds` past this, the webhook is disabled.
    failing_since: Option<String>,
    /// Seconds to wait after each failed attempt.
    retry_schedule: Vec<u32>,
    /// Per-attempt timeout, 1 to 30 seconds.
    timeout_seconds: u32,
    /// Optional cap on deliveries per second.
    rate_limit_per_second: Option<u32>,
    /// Extra headers sent with every delivery.
    headers: BTreeMap<String, String>,
    /// How deliveries are signed.
    signature: SignatureConfig,
    /// The body's shape.
    payload_format: PayloadFormat,
    /// `fifo`: deliveries go strictly in publish order, one at a time (per `ordering_key`
    /// value); `none`: as soon as they can (docs/ordering.md).
    ordering: OrderingMode,
    /// With `fifo`: the path (as filters write them, e.g. `data.meeting_id`) whose value
    /// splits the order into independent queues; null: one queue for the webhook.
    ordering_key: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        let (secret, public_key, previous) = if w.signature.is_asymmetric() {
            let previous = w
                .previous_secret
                .as_ref()
                .filter(|(_, until)| *until > now_ms())
                .and_then(|(old, until)| Some((public_key(old)?, rfc3339(*until))));
            (None, public_key(&w.secret), previous)
        } else {
            (Some(w.secret), None, None)
        };
        let (previous_public_key, previous_public_key_expires_at) = previous.unzip();
        Self {
            id: w.id.to_string(),
            url: w.url.as_str().to_owned(),
            description: w.description,
            events: w.events.patterns().to_vec(),
            channels: w.channels.iter().map(|c| c.as_str().to_owned()).collect(),
            filter: w.filter.map(|f| f.as_json().clone()),
            secret,
            public_key,
            previous_public_key,
            previous_public_key_expires_at,
            active: w.active,
            disabled_reason: w.disabled_reason,
            disabled_at: w.disabled_at.map(rfc3339),
            failing_since: w.failing_since.map(rfc3339),
            retry_schedule: w.retry_schedule.delays().to_vec(),
            timeout_seconds: w.timeout_seconds.get(),
            rate_limit_per_second: w.rate_limit_per_second,
            headers: w.headers.as_map().clone(),
            signature: w.signature,
            payload_format: w.payload_format,
            ordering: w.ordering.mode(),
            ordering_key: w.ordering.key_path().map(str::to_owned),
            created_at: rfc3339(w.created_at),
            updated_at: rfc3339(w.updated_at),
        }
    }
}

/// A new webhook: only `url` is required.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://hooks.acme.example/in",
    "description": "Orders to the billing service",
    "events": ["order.*"],
    "filter": {"data.amount": {"$gte": 100}},
    "retry_schedule": [30, 120, 600],
    "timeout_seconds": 10
}))]
pub struct WebhookIn {
    /// `https://…` (plain `http://` only in development mode), or a message broker
    /// (docs/brokers.md): `nats://…/subject` (JetStream), `amqp://…/exchange?routing_key=…`
    /// (RabbitMQ), `redis://…/stream?maxlen=…` (Redis Streams) or `mqtt://…/topic` (QoS 1).
    /// Private addresses only in development mode or within `allowed_cidrs`.
    url: String,
    /// Free text.
    description: Option<String>,
    /// Event type patterns (default: all).
    events: Option<Vec<String>>,
    /// Channels (default: none, i.e. all events).
    channels: Option<Vec<String>>,
    /// A filter on the event's content (default: none, i.e. all events).
    #[schema(value_type = Option<Object>)]
    filter: Option<Value>,
    /// Signing secret; generated when absent. With `standard-webhooks-v1a`, an Ed25519 private
    /// key (`whsk_` + base64), which is never shown again: a key pair is generated when absent.
    secret: Option<String>,
    /// Default true.
    active: Option<bool>,
    /// Default `[30, 120, 600, 3600, 21600]`.
    #[schema(value_type = Option<Vec<i64>>)]
    retry_schedule: Option<Vec<Whole>>,
    /// Default 10.
    #[schema(value_type = Option<i64>)]
    timeout_seconds: Option<Whole>,
    /// Default none.
    #[schema(value_type = Option<i64>)]
    rate_limit_per_second: Option<Whole>,
    /// Extra headers.
    headers: Option<BTreeMap<String, String>>,
    /// Default `{"scheme": "standard-webhooks"}`; `{"scheme": "standard-webhooks-v1a"}` signs
    /// with an Ed25519 key pair instead of a shared secret.
    signature: Option<SignatureConfig>,
    /// Default `envelope`.
    payload_format: Option<PayloadFormat>,
    /// Default `none`; `fifo` delivers strictly in publish order (docs/ordering.md).
    ordering: Option<OrderingMode>,
    /// With `fifo` only: one queue per value at this path (e.g. `data.meeting_id`).
    ordering_key: Option<String>,
}

impl WebhookIn {
    /// What the dashboard's create form gives; every other field takes its default.
    pub(crate) fn from_form(url: String, description: String, events: Vec<String>) -> Self {
        Self {
            url,
            description: Some(description),
            events: Some(events),
            channels: None,
            filter: None,
            secret: None,
            active: None,
            retry_schedule: None,
            timeout_seconds: None,
            rate_limit_per_second: None,
            headers: None,
            signature: None,
            payload_format: None,
            ordering: None,
            ordering_key: None,
        }
    }
}

/// Changes to a webhook: every field optional; absent fields keep their value.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    url: Option<String>,
    description: Option<String>,
    events: Option<Vec<String>>,
    channels: Option<Vec<String>>,
    /// null removes the filter.
    #[serde(default, deserialize_with = "super::extract::double_option")]
    #[schema(value_type = Option<Object>)]
    filter: Option<Option<Value>>,
    /// Replaces the secret at once (see rotate-secret for a gentle switch).
    secret: Option<String>,
    /// `false` holds its deliveries (still `pending`); `true` again sends them and clears
    /// `disabled_reason` and the failure clock.
    active: Option<bool>,
    #[schema(value_type = Option<Vec<i64>>)]
    retry_schedule: Option<Vec<Whole>>,
    #[schema(value_type = Option<i64>)]
    timeout_seconds: Option<Whole>,
    /// null removes the limit.
    #[serde(default, deserialize_with = "super::extract::double_option")]
    #[schema(value_type = Option<i64>)]
    rate_limit_per_second: Option<Option<Whole>>,
    headers: Option<BTreeMap<String, String>>,
    signature: Option<SignatureConfig>,
    payload_format: Option<PayloadFormat>,
    /// Applies to deliveries published from now on; queued ones keep their order.
    ordering: Option<OrderingMode>,
    /// null: one queue for the webhook. Dropped by `"ordering": "none"`.
    #[serde(default, deserialize_with = "super::extract::double_option")]
    ordering_key: Option<Option<String>>,
}

impl WebhookPatch {
    /// Enables or disables, changing nothing else.
    pub(crate) fn active(active: bool) -> Self {
        Self {
            active: Some(active),
            ..Self::default()
        }
    }
}

fn check_description(d: String) -> Result<String, ApiError> {
    crate::model::check_text(&d, "description")?;
    if d.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "description",
            "must be at most 1000 characters",
        ));
    }
    Ok(d)
}

fn check_rate_limit(n: Option<Whole>) -> Result<Option<u32>, ApiError> {
    match n.map(|n| n.0) {
        None => Ok(None),
        Some(n @ 1..=100_000) => Ok(Some(n as u32)),
        Some(_) => Err(ApiError::invalid(
            "rate_limit_per_second",
            "must be from 1 to 100000, or null for no limit",
        )),
    }
}

fn parse_filter(filter: Option<Value>) -> Result<Option<PayloadFilter>, ApiError> {
    Ok(filter.map(PayloadFilter::parse).transpose()?.flatten())
}

fn wholes(numbers: &[Whole]) -> Vec<i64> {
    numbers.iter().map(|n| n.0).collect()
}

pub(super) fn parse_new(
    input: WebhookIn,
    tenant: &TenantId,
    policy: UrlPolicy,
) -> Result<Webhook, ApiError> {
    let url = WebhookUrl::parse(&input.url, policy)?;
    let signature = input.signature.unwrap_or_default();
    signature.validate()?;
    let secret = match input.secret {
        Some(s) => {
            check_secret(&s, &signature)?;
            s
        }
        None => new_secret(&signature),
    };
    let now = now_ms();
    Ok(Webhook {
        id: WebhookId::generate(),
        tenant_id: tenant.clone(),
        url,
        description: check_description(input.description.unwrap_or_default())?,
        events: EventFilter::parse(&input.events.unwrap_or_default())?,
        channels: Channel::parse_list(&input.channels.unwrap_or_default(), "channels")?,
        filter: parse_filter(input.filter)?,
        secret,
        previous_secret: None,
        active: input.active.unwrap_or(true),
        disabled_reason: None,
        disabled_at: None,
        failing_since: None,
        retry_schedule: match input.retry_schedule {
            Some(s) => RetrySchedule::parse(&wholes(&s))?,
            None => RetrySchedule::default(),
        },
        timeout_seconds: input
            .timeout_seconds
            .map_or(Ok(TimeoutSeconds::default()), |t| {
                TimeoutSeconds::parse(t.0)
            })?,
        rate_limit_per_second: check_rate_limit(input.rate_limit_per_second)?,
        headers: CustomHeaders::parse(input.headers.unwrap_or_default())?,
        signature,
        payload_format: input.payload_format.unwrap_or_default(),
        ordering: Ordering::parse(
            input.ordering.unwrap_or_default(),
            input.ordering_key.as_deref(),
        )?,
        created_at: now,
        updated_at: now,
    })
}

pub(super) fn apply_patch(
    w: &mut Webhook,
    p: WebhookPatch,
    policy: UrlPolicy,
) -> Result<(), ApiError> {
    if let Some(url) = p.url {
        w.url = WebhookUrl::parse(&url, policy)?;
    }
    if let Some(d) = p.description {
        w.description = check_description(d)?;
    }
    if let Some(events) = p.events {
        w.events = EventFilter::parse(&events)?;
    }
    if let Some(channels) = p.channels {
        w.channels = Channel::parse_list(&channels, "channels")?;
    }
    if let Some(filter) = p.filter {
        w.filter = parse_filter(filter)?;
    }
    if let Some(signature) = p.signature {
        signature.validate()?;
        // Between a shared secret and a key pair the old secret means nothing to the new
        // scheme: a new one is made, unless the patch brings its own.
        if signature.is_asymmetric() != w.signature.is_asymmetric() && p.secret.is_none() {
            w.secret = new_secret(&signature);
            w.previous_secret = None;
        }
        w.signature = signature;
    }
    if let Some(secret) = p.secret {
        // An immediate switch: unlike rotate-secret, the old secret stops signing now.
        w.secret = secret;
        w.previous_secret = None;
    }
    // Checked after both may have changed: a new scheme must accept the secret it will use.
    check_secret(&w.secret, &w.signature)?;
    if let Some(active) = p.active
        && active != w.active
    {
        w.active = active;
        // Enabling clears the failure clock too (the store does the same).
        (w.disabled_reason, w.disabled_at, w.failing_since) = if active {
            (None, None, None)
        } else {
            (Some("manual".to_owned()), Some(now_ms()), w.failing_since)
        };
    }
    if let Some(s) = p.retry_schedule {
        w.retry_schedule = RetrySchedule::parse(&wholes(&s))?;
    }
    if let Some(t) = p.timeout_seconds {
        w.timeout_seconds = TimeoutSeconds::parse(t.0)?;
    }
    if let Some(r) = p.rate_limit_per_second {
        w.rate_limit_per_second = check_rate_limit(r)?;
    }
    if let Some(h) = p.headers {
        w.headers = CustomHeaders::parse(h)?;
    }
    if let Some(f) = p.payload_format {
        w.payload_format = f;
    }
    w.ordering = w
        .ordering
        .patched(p.ordering, p.ordering_key.as_ref().map(Option::as_deref))?;
    w.updated_at = now_ms();
    Ok(())
}
