//! Webhooks: what creating one takes ([`NewWebhook`]), what changing one takes
//! ([`WebhookPatch`]), what the API shows ([`Webhook`]), and the wire format settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::double_option;

/// How a webhook's deliveries are signed (schema `SignatureConfig`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme")]
pub enum Signature {
    /// Standard Webhooks `v1`: HMAC-SHA256 with a `whsec_` secret (the default).
    #[default]
    #[serde(rename = "standard-webhooks")]
    StandardWebhooks,
    /// Standard Webhooks `v1a`: Ed25519; receivers verify with the webhook's `public_key`.
    #[serde(rename = "standard-webhooks-v1a")]
    StandardWebhooksV1a,
    /// HMAC-SHA256 of the body in one header.
    #[serde(rename = "hmac-sha256")]
    HmacSha256 {
        /// The header's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<String>,
        /// `hex` (the default) or `base64`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encoding: Option<SignatureEncoding>,
        /// Text before the signature, e.g. `sha256=`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// `t=<unix>, v1=<hex>`, keyed with `"<t>.<secret>"`.
    #[serde(rename = "timestamped-key")]
    TimestampedKey {
        /// The header's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<String>,
    },
}

/// How an `hmac-sha256` signature is written (schema `SignatureEncoding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    /// Lowercase hex.
    Hex,
    /// Standard base64.
    Base64,
}

/// The shape of a delivery's body (schema `PayloadFormat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadFormat {
    /// `{"id","type","created_at","data"}` (the default).
    #[default]
    Envelope,
    /// `{"event","timestamp","data"}`, printed as JavaScript's `JSON.stringify` prints it.
    EventTimestamp,
    /// `{"id","object":"event","data","type","created"}`.
    ObjectEvent,
    /// The event's data alone.
    Data,
}

/// The order a webhook's deliveries go in (schema `OrderingMode`; docs/ordering.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    /// As soon as they can, several at once (the default).
    #[default]
    None,
    /// Strictly in publish order, one at a time, per webhook or per `ordering_key` value.
    Fifo,
}

/// A webhook to create (schema `WebhookIn`): only `url` is required.
///
/// ```
/// use hookrelay_client::NewWebhook;
///
/// let webhook = NewWebhook {
///     events: Some(vec!["order.*".into()]),
///     ..NewWebhook::new("https://example.com/hooks")
/// };
/// # assert_eq!(webhook.url, "https://example.com/hooks");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://…` (plain `http://` only when the server runs in development mode).
    pub url: String,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Event type patterns (`order.paid`, `order.*`, `*`); all types when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// Channels; all events when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    /// A filter on the event's content (docs/filters.md), such as
    /// `{"data.amount": {"$gte": 100}}`; all events when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Value>,
    /// The signing secret (`whsec_…`), or a `whsk_` key for `v1a`; generated when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Whether it receives deliveries (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Seconds between retries (default `[30, 120, 600, 3600, 21600]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_schedule: Option<Vec<u64>>,
    /// Seconds an attempt may take (default 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// Attempts per second at most (default: no limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_second: Option<u64>,
    /// Extra headers on every delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// How deliveries are signed (default Standard Webhooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// The body's shape (default `envelope`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_format: Option<PayloadFormat>,
    /// Delivery order (default `none`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordering: Option<Ordering>,
    /// With `fifo`: one queue per value at this path, e.g. `data.meeting_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordering_key: Option<String>,
}

impl NewWebhook {
    /// A webhook for `url` with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

/// Changes to a webhook (schema `WebhookPatch`): each `Some` field is set, the rest kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// A new URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Event type patterns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// Channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    /// A new payload filter; `Some(None)` removes it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub filter: Option<Option<Value>>,
    /// Replaces the secret at once (`rotate_secret` switches gently).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `false` holds its deliveries; `true` sends them again and clears `disabled_reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Seconds between retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_schedule: Option<Vec<u64>>,
    /// Seconds an attempt may take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// `Some(None)` removes the limit.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub rate_limit_per_second: Option<Option<u64>>,
    /// Extra headers (replaces them all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// How deliveries are signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// The body's shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_format: Option<PayloadFormat>,
    /// Delivery order, for deliveries published from now on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordering: Option<Ordering>,
    /// A new key path; `Some(None)` makes one queue for the whole webhook.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub ordering_key: Option<Option<String>>,
}

/// A webhook as the API shows it (schema `WebhookOut`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// `wh_…`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// Free text.
    pub description: String,
    /// Event type patterns; empty means all.
    pub events: Vec<String>,
    /// Channels; empty means all events.
    pub channels: Vec<String>,
    /// The payload filter, if any (docs/filters.md).
    #[serde(default)]
    pub filter: Option<Value>,
    /// The shared secret (absent for `v1a`, whose private key is never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `v1a` only: the key receivers verify with (`whpk_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// `v1a` only, during a rotation: the previous public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_public_key: Option<String>,
    /// When the previous public key stops signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_public_key_expires_at: Option<String>,
    /// Whether it receives deliveries.
    pub active: bool,
    /// Why it is disabled: `manual`, `failing` or `gone`.
    pub disabled_reason: Option<String>,
    /// When it was disabled.
    pub disabled_at: Option<String>,
    /// When its current run of failures began.
    pub failing_since: Option<String>,
    /// Seconds between retries.
    pub retry_schedule: Vec<u64>,
    /// Seconds an attempt may take.
    pub timeout_seconds: u64,
    /// Attempts per second at most.
    pub rate_limit_per_second: Option<u64>,
    /// Extra headers (their values as set).
    pub headers: BTreeMap<String, String>,
    /// How deliveries are signed.
    pub signature: Signature,
    /// The body's shape.
    pub payload_format: PayloadFormat,
    /// Delivery order.
    pub ordering: Ordering,
    /// With `fifo`: the key path, if the order is per value.
    #[serde(default)]
    pub ordering_key: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}
