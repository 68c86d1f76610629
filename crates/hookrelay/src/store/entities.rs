//! The entities the store keeps, as callers see them: tenants, webhooks (each setting a `model`
//! type, so a value that reached the store was valid when it was set), the event type catalog,
//! deliveries and their attempts, and the shapes the delivery log is read in.

use crate::ids::{AttemptId, DeliveryId, EventId, TenantId, WebhookId};
use crate::model::{
    Channel, CustomHeaders, EventFilter, Ordering, PayloadFilter, PayloadFormat, RetrySchedule,
    SignatureConfig, TimeoutSeconds, WebhookUrl,
};

/// A page request: at most `limit` items after `cursor` (an id from the previous page).
#[derive(Clone, Debug)]
pub struct Page {
    /// 1..=250.
    pub limit: u32,
    /// The last id of the previous page.
    pub cursor: Option<String>,
}

/// One page of results and the cursor of the next, if any.
#[derive(Debug)]
pub struct Paged<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page.
    pub next_cursor: Option<String>,
}

/// A tenant.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Chosen by the operator.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// Where notices about this tenant's webhooks go.
    pub contact_email: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// A webhook (endpoint subscription) with every setting, each a `model` type: a value that
/// reached the store was valid when it was set.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// `wh_…`
    pub id: WebhookId,
    /// Owner.
    pub tenant_id: TenantId,
    /// Target URL, checked against the URL policy when it was set.
    pub url: WebhookUrl,
    /// Free text.
    pub description: String,
    /// Event type patterns; empty means all.
    pub events: EventFilter,
    /// Channels; empty means all events.
    pub channels: Vec<Channel>,
    /// A condition on the event's content; `None` means every event.
    pub filter: Option<PayloadFilter>,
    /// Signing secret.
    pub secret: String,
    /// The secret it replaced and when that stops signing (unix ms), during a rotation.
    pub previous_secret: Option<(String, i64)>,
    /// Whether deliveries are made.
    pub active: bool,
    /// Why the webhook was disabled, when it was: `failing` or `gone` when hookrelay did it,
    /// `manual` when a person did.
    pub disabled_reason: Option<String>,
    /// When it was disabled (unix ms).
    pub disabled_at: Option<i64>,
    /// Since when its attempts have all failed (unix ms); `None` after a success. Kept by the
    /// attempt recorder only: writing a webhook never changes it, and enabling one clears it.
    pub failing_since: Option<i64>,
    /// Seconds between attempts.
    pub retry_schedule: RetrySchedule,
    /// Per-attempt timeout.
    pub timeout_seconds: TimeoutSeconds,
    /// Optional cap on deliveries a second.
    pub rate_limit_per_second: Option<u32>,
    /// Extra headers.
    pub headers: CustomHeaders,
    /// Signature scheme.
    pub signature: SignatureConfig,
    /// Body format.
    pub payload_format: PayloadFormat,
    /// Delivery order (`model/ordering.rs`). A change applies to deliveries published after
    /// it: those queued keep the order they were queued with.
    pub ordering: Ordering,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// An entry of the event type catalog.
#[derive(Clone, Debug)]
pub struct EventType {
    /// `meeting.ended`
    pub name: String,
    /// What the event means.
    pub description: String,
    /// Example data (JSON text), used by test sends.
    pub example: Option<String>,
    /// JSON Schema (JSON text) that published data must match.
    pub schema: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// Delivery states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx arrived.
    Succeeded,
    /// Every attempt failed.
    Failed,
}

impl DeliveryStatus {
    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// What one attempt came to: when it started, how long it took, and what came back. Declared
/// once: the sender's outcome, the recorder's record and the log's attempt all hold one.
#[derive(Clone, Debug)]
pub struct AttemptResult {
    /// When the request started, unix ms.
    pub started_at: i64,
    /// Request to response (or error), in ms.
    pub latency_ms: i64,
    /// HTTP status, when a response arrived.
    pub status_code: Option<u16>,
    /// The first 4 KiB of the response body.
    pub response_body: Option<String>,
    /// What went wrong without an acceptable response: timeout, refused, DNS, TLS…
    pub error: Option<String>,
    /// A 2xx within the timeout.
    pub succeeded: bool,
}

/// One attempt of a delivery.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// `att_…`
    pub id: AttemptId,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// What it came to.
    pub result: AttemptResult,
}

/// A delivery as the log shows it.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// `dlv_…`
    pub id: DeliveryId,
    /// The event.
    pub event_id: EventId,
    /// The webhook.
    pub webhook_id: WebhookId,
    /// The event's type.
    pub event_type: String,
    /// Current state.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending only), unix ms.
    pub next_attempt_at: Option<i64>,
    /// Made by a test send (`POST /v1/webhooks/{id}/test`), not by a publish.
    pub test: bool,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// A page of the delivery log read with a bounded scan ([`super::Store::scan_deliveries`]).
#[derive(Debug)]
pub struct LogPage {
    /// Matching deliveries, newest first.
    pub items: Vec<Delivery>,
    /// Pass as `cursor` to read on.
    pub next_cursor: Option<String>,
    /// When the scan stopped at its bound short of a page: the time of the oldest delivery
    /// it looked at, where `next_cursor` resumes.
    pub searched_to: Option<i64>,
}

/// Filters of the delivery log.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
    /// Only deliveries of this event type.
    pub event_type: Option<String>,
    /// Only deliveries created at or after this time, unix ms.
    pub since: Option<i64>,
    /// Only deliveries created before this time, unix ms.
    pub until: Option<i64>,
}

/// A webhook's recent attempts and delivery counts, for statistics.
#[derive(Clone, Debug, Default)]
pub struct Activity {
    /// (started_at ms, latency ms, succeeded), newest first.
    pub attempts: Vec<(i64, i64, bool)>,
    /// Deliveries created in the window, by status.
    pub deliveries: Vec<(DeliveryStatus, u64)>,
}

/// One hour of a webhook's attempts, as the recorder counted them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptHour {
    /// The webhook.
    pub webhook: WebhookId,
    /// The hour's start (unix ms, a whole UTC hour).
    pub hour_start: i64,
    /// Attempts started in this hour that succeeded.
    pub succeeded: u64,
    /// Attempts started in this hour that failed.
    pub failed: u64,
}

/// Which past deliveries to queue again.
#[derive(Clone, Debug)]
pub struct Replay {
    /// Created at or after (unix ms).
    pub since: i64,
    /// Created before (unix ms).
    pub until: i64,
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
    /// When they become due (unix ms).
    pub now: i64,
}

/// Who an API key belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOwner {
    /// The operator.
    Admin,
    /// One tenant.
    Tenant(TenantId),
}

/// A signed-in dashboard session, as a request finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DashboardSession {
    /// The tenant it is scoped to; `None` for the operator.
    pub tenant: Option<TenantId>,
    /// The token every form of this session carries.
    pub csrf_token: String,
}

/// A dashboard session to store.
#[derive(Clone, Copy, Debug)]
pub struct NewDashboardSession<'a> {
    /// SHA-256 (hex) of the session token; the token itself is never stored.
    pub hash: &'a str,
    /// The tenant it is scoped to; `None` for the operator.
    pub tenant: Option<&'a TenantId>,
    /// The session's CSRF token.
    pub csrf_token: &'a str,
    /// Unix ms.
    pub now: i64,
}
