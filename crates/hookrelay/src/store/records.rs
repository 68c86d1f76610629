//! Raw rows as both databases return them (JSON settings as text, times as unix ms) and their
//! conversion to the store's typed values. Decoding a stored JSON column never fails the request:
//! the columns are only ever written by this module, from typed values.

use sqlx::FromRow;

use super::{
    Attempt, AttemptResult, Claimed, Delivery, DeliveryStatus, Error, Event, EventType, Tenant,
    Webhook, WebhookVersion,
};
use crate::ids::{AttemptId, DeliveryId, EventId, TenantId, WebhookId};
use crate::model::{
    Channel, CustomHeaders, EventFilter, Ordering, PayloadFilter, PayloadFormat, RetrySchedule,
    TimeoutSeconds, WebhookUrl,
};

/// Columns of `webhooks`, in the order [`WebhookRecord`] reads them.
pub const WEBHOOK_COLUMNS: &str = "w.id, w.tenant_id, w.url, w.description, w.events, w.channels, \
    w.secret, w.previous_secret, w.previous_secret_expires_at, w.active, w.disabled_reason, w.retry_schedule, w.timeout_seconds, \
    w.rate_limit_per_second, w.headers, w.signature, w.payload_format, w.created_at, w.updated_at, \
    w.disabled_at, w.failing_since, w.payload_filter, w.ordering, w.ordering_key";

#[derive(FromRow)]
pub struct TenantRecord {
    id: String,
    name: String,
    contact_email: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl From<TenantRecord> for Tenant {
    fn from(r: TenantRecord) -> Self {
        Tenant {
            id: TenantId::from_trusted(r.id),
            name: r.name,
            contact_email: r.contact_email,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(FromRow, serde::Deserialize)]
pub struct WebhookRecord {
    id: String,
    tenant_id: String,
    url: String,
    description: String,
    events: String,
    channels: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<i64>,
    active: bool,
    disabled_reason: Option<String>,
    retry_schedule: String,
    timeout_seconds: i64,
    rate_limit_per_second: Option<i64>,
    headers: String,
    signature: String,
    payload_format: String,
    created_at: i64,
    updated_at: i64,
    disabled_at: Option<i64>,
    failing_since: Option<i64>,
    payload_filter: Option<String>,
    ordering: String,
    ordering_key: Option<String>,
}

fn json_or_default<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

impl TryFrom<WebhookRecord> for Webhook {
    type Error = Error;

    /// Fails only for a URL that is not one, which hookrelay never writes.
    fn try_from(r: WebhookRecord) -> Result<Self, Error> {
        let url = url::Url::parse(&r.url)
            .map_err(|e| Error::Backend(sqlx::Error::Decode(Box::new(e))))?;
        let events: Vec<String> = json_or_default(&r.events);
        let channels: Vec<String> = json_or_default(&r.channels);
        Ok(Webhook {
            id: WebhookId::from_trusted(r.id),
            tenant_id: TenantId::from_trusted(r.tenant_id),
            url: WebhookUrl::from_trusted(url),
            description: r.description,
            events: EventFilter::from_trusted(events),
            channels: channels.into_iter().map(Channel::from_trusted).collect(),
            filter: r.payload_filter.as_deref().map(PayloadFilter::from_trusted),
            secret: r.secret,
            previous_secret: r.previous_secret.zip(r.previous_secret_expires_at),
            active: r.active,
            disabled_reason: r.disabled_reason,
            disabled_at: r.disabled_at,
            failing_since: r.failing_since,
            retry_schedule: RetrySchedule::from_trusted(json_or_default(&r.retry_schedule)),
            timeout_seconds: TimeoutSeconds::from_trusted(r.timeout_seconds),
            rate_limit_per_second: r.rate_limit_per_second.map(|n| n.max(1) as u32),
            headers: CustomHeaders::from_trusted(json_or_default(&r.headers)),
            signature: json_or_default(&r.signature),
            payload_format: PayloadFormat::from_stored(&r.payload_format),
            ordering: Ordering::from_stored(&r.ordering, r.ordering_key.as_deref()),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A webhook's JSON-valued columns, serialized for writing.
pub struct WebhookJson {
    pub events: String,
    pub channels: String,
    pub retry_schedule: String,
    pub headers: String,
    pub signature: String,
}

impl WebhookJson {
    pub fn of(w: &Webhook) -> Self {
        let text = |v: serde_json::Result<String>| v.unwrap_or_else(|_| "null".to_owned());
        Self {
            events: text(serde_json::to_string(w.events.patterns())),
            channels: text(serde_json::to_string(&w.channels)),
            retry_schedule: text(serde_json::to_string(&w.retry_schedule)),
            headers: text(serde_json::to_string(&w.headers)),
            signature: text(serde_json::to_string(&w.signature)),
        }
    }
}

#[derive(FromRow)]
pub struct EventTypeRecord {
    name: String,
    description: String,
    example: Option<String>,
    json_schema: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl From<EventTypeRecord> for EventType {
    fn from(r: EventTypeRecord) -> Self {
        EventType {
            name: r.name,
            description: r.description,
            example: r.example,
            schema: r.json_schema,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A claimed delivery joined with its event and its webhook's version: a row on PostgreSQL, an
/// element of the JSON array that SQLite's one-row claim returns (built from
/// [`CLAIMED_JSON_OBJECT`]).
#[derive(FromRow, serde::Deserialize)]
pub struct ClaimedRecord {
    delivery_id: String,
    attempts: i64,
    event_id: String,
    event_type: String,
    event_created_at: i64,
    data: String,
    webhook_id: String,
    webhook_updated_at: i64,
    ordering_key: Option<String>,
}

/// The select list for [`ClaimedRecord`], given aliases `d` (deliveries), `e` (events), `w`.
pub const CLAIMED_SELECT: &str = "d.id AS delivery_id, d.attempts, e.id AS event_id, e.event_type, \
     e.created_at AS event_created_at, e.data, w.id AS webhook_id, w.updated_at AS webhook_updated_at, \
     d.ordering_key";

impl From<ClaimedRecord> for Claimed {
    fn from(r: ClaimedRecord) -> Self {
        Claimed {
            id: DeliveryId::from_trusted(r.delivery_id),
            attempts: r.attempts.max(0) as u32,
            event_id: EventId::from_trusted(r.event_id),
            event_type: r.event_type,
            event_created_at: r.event_created_at,
            data: r.data,
            webhook: WebhookVersion {
                id: WebhookId::from_trusted(r.webhook_id),
                updated_at: r.webhook_updated_at,
            },
            ordering_key: r.ordering_key,
        }
    }
}

#[derive(FromRow)]
pub struct DeliveryRecord {
    id: String,
    event_id: String,
    webhook_id: String,
    event_type: String,
    status: String,
    attempts: i64,
    next_attempt_at: Option<i64>,
    test: bool,
    created_at: i64,
    updated_at: i64,
}

/// Columns of `deliveries` for [`DeliveryRecord`].
pub const DELIVERY_COLUMNS: &str = "id, event_id, webhook_id, event_type, status, attempts, \
    next_attempt_at, test, created_at, updated_at";

impl From<DeliveryRecord> for Delivery {
    fn from(r: DeliveryRecord) -> Self {
        let status = DeliveryStatus::parse(&r.status).unwrap_or(DeliveryStatus::Pending);
        Delivery {
            id: DeliveryId::from_trusted(r.id),
            event_id: EventId::from_trusted(r.event_id),
            webhook_id: WebhookId::from_trusted(r.webhook_id),
            event_type: r.event_type,
            status,
            attempts: r.attempts.max(0) as u32,
            next_attempt_at: r
                .next_attempt_at
                .filter(|_| status == DeliveryStatus::Pending),
            test: r.test,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(FromRow)]
pub struct EventRecord {
    id: String,
    event_type: String,
    tenants: String,
    channels: String,
    data: String,
    created_at: i64,
}

/// Columns of `events` for [`EventRecord`].
pub const EVENT_COLUMNS: &str = "id, event_type, tenants, channels, data, created_at";

impl From<EventRecord> for Event {
    fn from(r: EventRecord) -> Self {
        Event {
            id: EventId::from_trusted(r.id),
            event_type: r.event_type,
            tenants: json_or_default(&r.tenants),
            channels: json_or_default(&r.channels),
            data: r.data,
            created_at: r.created_at,
        }
    }
}

#[derive(FromRow)]
pub struct AttemptRow {
    id: String,
    attempt: i64,
    started_at: i64,
    latency_ms: i64,
    status_code: Option<i64>,
    response_body: Option<String>,
    error: Option<String>,
    succeeded: bool,
}

impl From<AttemptRow> for Attempt {
    fn from(r: AttemptRow) -> Self {
        Attempt {
            id: AttemptId::from_trusted(r.id),
            attempt: r.attempt.max(0) as u32,
            result: AttemptResult {
                started_at: r.started_at,
                latency_ms: r.latency_ms,
                status_code: r.status_code.and_then(|c| u16::try_from(c).ok()),
                response_body: r.response_body,
                error: r.error,
                succeeded: r.succeeded,
            },
        }
    }
}

/// The `json_object(...)` of one claimed delivery, given aliases `d`, `e` and `w`.
pub const CLAIMED_JSON_OBJECT: &str = "json_object('delivery_id', d.id, 'attempts', d.attempts, \
     'event_id', e.id, 'event_type', e.event_type, 'event_created_at', e.created_at, \
     'data', e.data, 'webhook_id', w.id, 'webhook_updated_at', w.updated_at, \
     'ordering_key', d.ordering_key)";
