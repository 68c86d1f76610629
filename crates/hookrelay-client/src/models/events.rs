//! Events: what publishing takes ([`NewEvent`], one or a batch) and answers, and a published
//! event as the API shows it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Delivery, ErrorDetail};

/// An event to publish (schema `PublishIn`; also each item of `BatchIn`).
///
/// Leave `id` empty and the client makes one before the first try, so that a retry can
/// never publish the event twice; set it to your own idempotency key (`[A-Za-z0-9_.:-]`, at
/// most 255) to make publishing it again anywhere a no-op.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// The idempotency key: publishing the same id again creates nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The event type, e.g. `order.paid`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The data (a JSON object), checked against the type's JSON Schema if it has one.
    pub data: Value,
    /// The one tenant it is for (default `default`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Several tenants at once (instead of `tenant`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenants: Option<Vec<String>>,
    /// Channels it carries; webhooks with channels receive only events on one of theirs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
}

impl NewEvent {
    /// An event of `event_type` with `data`, for the default tenant, id made at publish.
    pub fn new(event_type: impl Into<String>, data: Value) -> Self {
        Self {
            id: None,
            event_type: event_type.into(),
            data,
            tenant: None,
            tenants: None,
            channels: None,
        }
    }
}

/// What publishing answers (schema `PublishOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The event id.
    pub id: String,
    /// Deliveries queued for it (the first publish's count when the id was published before).
    pub deliveries: u64,
}

/// A batch to publish (schema `BatchIn`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Batch {
    pub(crate) events: Vec<NewEvent>,
}

/// What publishing a batch answers (schema `BatchOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    /// One outcome per event, in the request's order.
    pub data: Vec<BatchItem>,
}

/// One event's outcome in a batch (schema `BatchItemOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    /// 202 published, 200 published before, 409 published before with other content, 422
    /// refused.
    pub status: u16,
    /// The event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Deliveries queued for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<u64>,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// A published event with its deliveries (schema `EventOut`; admin key only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event id.
    pub id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The tenants it was published to.
    pub tenants: Vec<String>,
    /// The channels it carries.
    pub channels: Vec<String>,
    /// The data, as published.
    pub data: Value,
    /// RFC 3339.
    pub created_at: String,
    /// One per webhook it went to, oldest first.
    pub deliveries: Vec<Delivery>,
}
