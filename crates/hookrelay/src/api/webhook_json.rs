//! A webhook's JSON: what the API reads (`WebhookIn` to create, `WebhookPatch` to change) and
//! writes (`WebhookOut`), and the parsing of input into a store `Webhook`. Every field goes
//! through its model type's `parse` or a check here, so an invalid value never reaches the store.

use std::collections::BTreeMap;

use hookrelay_signature::{Secret, generate_secret_string};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiError;
use super::whole::Whole;
use crate::clock::{now_ms, rfc3339};
use crate::ids::{TenantId, WebhookId};
use crate::model::{
    Channel, CustomHeaders, EventFilter, PayloadFormat, RetrySchedule, SignatureConfig,
    TimeoutSeconds, UrlPolicy, WebhookUrl,
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
    /// The signing secret.
    secret: String,
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
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id.to_string(),
            url: w.url.as_str().to_owned(),
            description: w.description,
            events: w.events.patterns().to_vec(),
            channels: w.channels.iter().map(|c| c.as_str().to_owned()).collect(),
            secret: w.secret,
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
    "retry_schedule": [30, 120, 600],
    "timeout_seconds": 10
}))]
pub struct WebhookIn {
    /// `https://…` (plain `http://` only in development mode).
    url: String,
    /// Free text.
    description: Option<String>,
    /// Event type patterns (default: all).
    events: Option<Vec<String>>,
    /// Channels (default: none, i.e. all events).
    channels: Option<Vec<String>>,
    /// Signing secret; generated when absent.
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
    /// Default `{"scheme": "standard-webhooks"}`.
    signature: Option<SignatureConfig>,
    /// Default `envelope`.
    payload_format: Option<PayloadFormat>,
}

/// Changes to a webhook: every field optional; absent fields keep their value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    url: Option<String>,
    description: Option<String>,
    events: Option<Vec<String>>,
    channels: Option<Vec<String>>,
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

pub(super) fn check_secret(secret: &str, signature: &SignatureConfig) -> Result<(), ApiError> {
    if secret.chars().count() > 512 {
        return Err(ApiError::invalid(
            "secret",
            "must be at most 512 characters",
        ));
    }
    Secret::new(&signature.scheme(), secret)
        .map(|_| ())
        .map_err(|e| {
            ApiError::invalid(
                "secret",
                format!(
                    "is not valid for the {} scheme: {e}",
                    scheme_name(signature)
                ),
            )
        })
}

pub(super) fn scheme_name(signature: &SignatureConfig) -> &'static str {
    match signature {
        SignatureConfig::StandardWebhooks => "standard-webhooks",
        SignatureConfig::HmacSha256 { .. } => "hmac-sha256",
        SignatureConfig::TimestampedKey { .. } => "timestamped-key",
    }
}

/// A new random secret: `whsec_` + base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    generate_secret_string(&bytes)
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
        None => new_secret(),
    };
    let now = now_ms();
    Ok(Webhook {
        id: WebhookId::generate(),
        tenant_id: tenant.clone(),
        url,
        description: check_description(input.description.unwrap_or_default())?,
        events: EventFilter::parse(&input.events.unwrap_or_default())?,
        channels: Channel::parse_list(&input.channels.unwrap_or_default(), "channels")?,
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
    if let Some(signature) = p.signature {
        signature.validate()?;
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
    w.updated_at = now_ms();
    Ok(())
}
