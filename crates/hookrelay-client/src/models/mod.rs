//! The API's request and answer bodies, one Rust type per schema of the OpenAPI document
//! (`clients/openapi.json`). Each type's doc names its schema; the drift test (`drift.rs`)
//! checks every field against that schema, so a renamed or added field fails the build's
//! tests rather than a call.
//!
//! Conventions: request types (`New…`, `…Patch`) leave out a field that is `None`, and refuse
//! unknown fields when read, as the server does. A patch field that `null` clears is an
//! `Option<Option<T>>`: `None` keeps it, `Some(None)` clears it. Answer types write `null` for
//! an absent value, except where the server leaves the field out, so that an answer read and
//! written again is what the server sent. Times are RFC 3339 strings.

mod catalog;
mod deliveries;
mod events;
mod tenants;
mod webhook_actions;
mod webhooks;

pub use catalog::{EventType, EventTypePatch, NewEventType};
pub use deliveries::{
    Attempt, Delivery, DeliveryDetail, DeliveryFilter, DeliveryStatus, SentRequest,
};
pub(crate) use events::Batch;
pub use events::{BatchItem, BatchResult, Event, NewEvent, Published};
pub use tenants::{DashboardLink, NewTenant, Tenant, TenantKey, TenantPatch};
pub use webhook_actions::{
    AttemptCounts, DayBucket, DeliveryCounts, HourBucket, Latency, Replay, Replayed, RotateSecret,
    Rotated, Stats, TestResult, TestSend,
};
pub use webhooks::{
    NewWebhook, Ordering, PayloadFormat, Signature, SignatureEncoding, Webhook, WebhookPatch,
};

use serde::{Deserialize, Deserializer, Serialize};

/// The API's error detail (schema `ErrorDetail`), inside `{"error": …}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable and machine-readable: `validation_failed`, `not_found`, `conflict`, ….
    pub code: String,
    /// For people.
    pub message: String,
    /// The offending field of a 422, when one is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer's body (schema `ErrorBody`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

/// `GET /healthz` and `/readyz` (schema `Health`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The database's state, as the server names it.
    pub database: String,
}

/// Reads a patch field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
