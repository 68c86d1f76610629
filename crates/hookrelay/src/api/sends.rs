//! Sending on demand: `POST /v1/webhooks/{id}/test` makes one attempt now with an event type's
//! example and answers with its result; it is logged as a delivery marked `test` (never queued,
//! so never retried on its own). `POST /v1/webhooks/{id}/replay` queues a webhook's past
//! deliveries again, test sends excepted. Both exist under `/v1/tenants/{tid}/webhooks/{id}/`
//! for the admin key.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{CallerTenant, PathTenant, Scope};
use super::extract::{ApiJson, ApiPath};
use super::webhooks::{ensure_enabled, find_webhook};
use super::{ApiError, AppState};
use crate::clock::{now_ms, parse_rfc3339, rfc3339};
use crate::delivery::Target;
use crate::delivery::send::Message;
use crate::ids::{AttemptId, DeliveryId, EventId, WebhookId};
use crate::model::EventTypeName;
use crate::store::{self, Attempt, AttemptRecord, DeliveryStatus, NewEvent, Replay};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(test_webhook))
        .routes(routes!(test_tenant_webhook))
        .routes(routes!(replay))
        .routes(routes!(replay_tenant))
}

/// Which event to send as a test.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestIn {
    /// Its type; the data is the catalog's example for it (`{}` when there is none).
    event_type: String,
}

/// What the test attempt came to.
#[derive(Serialize, ToSchema)]
pub struct TestOut {
    /// The id the test was sent with (in `webhook-id`).
    event_id: String,
    /// The delivery it is logged as (`"test": true` in the log).
    pub(crate) delivery_id: String,
    /// A 2xx within the timeout.
    succeeded: bool,
    /// The response status, if one arrived.
    status_code: Option<u16>,
    /// Milliseconds.
    latency_ms: i64,
    /// The first 4 KiB of the response body.
    response_body: Option<String>,
    /// Why no acceptable response arrived.
    error: Option<String>,
}

/// Sends one test event to the webhook now (even if it is inactive), logs it as a test
/// delivery, and answers with the attempt's result.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks", request_body = TestIn,
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = TestOut), (status = 404, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn test_webhook(
    CallerTenant(scope): CallerTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<TestIn>,
) -> Result<Json<TestOut>, ApiError> {
    let id = WebhookId::from_trusted(id);
    Ok(Json(
        test_send_in(&state, &scope, &id, &input.event_type, None).await?,
    ))
}

/// Sends one test event to a webhook of the scope and logs it (the API's and the dashboard's
/// test send). `data` replaces the catalog's example when given (the dashboard's editable
/// payload); it must be JSON.
pub(crate) async fn test_send_in(
    state: &AppState,
    scope: &Scope,
    id: &WebhookId,
    event_type: &str,
    data: Option<String>,
) -> Result<TestOut, ApiError> {
    let event_type = EventTypeName::parse(event_type, "event_type")?;
    if let Some(d) = &data
        && serde_json::from_str::<serde::de::IgnoredAny>(d).is_err()
    {
        return Err(ApiError::invalid("data", "must be JSON"));
    }
    let webhook = find_webhook(state, scope, id).await?;
    let data = match data {
        Some(d) => d,
        None => match state.store.get_event_type(event_type.as_str()).await {
            Ok(t) => t.example.unwrap_or_else(|| "{}".to_owned()),
            Err(store::Error::NotFound) => "{}".to_owned(),
            Err(e) => return Err(ApiError::from_store(e, "event type")),
        },
    };
    let event = NewEvent {
        id: EventId::generate(),
        event_type: event_type.as_str().to_owned(),
        tenants: vec![scope.0.clone()],
        channels: Vec::new(),
        data,
        created_at: now_ms(),
    };
    // Generated with the event, as a publish does: the log finds an event's deliveries by id
    // range from its creation time.
    let delivery_id = DeliveryId::generate();
    let webhook_id = webhook.id.clone();
    let outcome = state
        .sender
        .attempt(
            &Target::new(webhook),
            Message {
                id: event.id.as_str(),
                event_type: &event.event_type,
                created_at: event.created_at,
                data: &event.data,
            },
        )
        .await;
    let result = outcome.result;
    let succeeded = result.succeeded;
    let attempt = AttemptRecord {
        delivery_id,
        webhook_id,
        attempt: Attempt {
            id: AttemptId::generate(),
            attempt: 1,
            result,
        },
        // A test send neither runs nor stops a webhook's failure clock.
        gone: false,
        status: if succeeded {
            DeliveryStatus::Succeeded
        } else {
            DeliveryStatus::Failed
        },
        next_attempt_at: None,
        // Test sends are in no queue: they go at once, whatever the webhook's order.
        ordering_key: None,
    };
    state
        .store
        .record_test_send(&scope.0, &event, &attempt)
        .await
        .map_err(|e| ApiError::from_store(e, "webhook"))?;
    let result = attempt.attempt.result;
    Ok(TestOut {
        event_id: event.id.to_string(),
        delivery_id: attempt.delivery_id.to_string(),
        succeeded: result.succeeded,
        status_code: result.status_code,
        latency_ms: result.latency_ms,
        response_body: result.response_body,
        error: result.error,
    })
}

/// Sends one test event to a tenant's webhook now (admin).
#[utoipa::path(post, path = "/v1/tenants/{tid}/webhooks/{id}/test", tag = "webhooks", request_body = TestIn,
    params(("tid" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = TestOut), (status = 404, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn test_tenant_webhook(
    PathTenant(scope): PathTenant,
    state: State<AppState>,
    ApiPath(path): ApiPath<(String, String)>,
    input: ApiJson<TestIn>,
) -> Result<Json<TestOut>, ApiError> {
    test_webhook(CallerTenant(scope), state, ApiPath(path.1), input).await
}

/// Which deliveries to queue again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    /// Deliveries created at or after this RFC 3339 time.
    since: String,
    /// Deliveries created before this RFC 3339 time (default now).
    until: Option<String>,
    /// Only deliveries in this state.
    #[schema(value_type = Option<super::deliveries::StatusName>, inline)]
    status: Option<String>,
}

impl ReplayIn {
    /// The failed deliveries created since `since` (the dashboard's "replay failed since…").
    pub(crate) fn failed_since(since: String) -> Self {
        Self {
            since,
            until: None,
            status: Some("failed".to_owned()),
        }
    }
}

/// How many deliveries were queued again.
#[derive(Serialize, ToSchema)]
pub struct ReplayOut {
    /// Deliveries now pending and due.
    pub(crate) requeued: u64,
    /// The window used (RFC 3339).
    since: String,
    /// The window used (RFC 3339).
    until: String,
}

/// Queues a webhook's past deliveries again (test sends excepted); each keeps its event id, so
/// receivers can dedupe.
#[utoipa::path(post, path = "/v1/webhooks/{id}/replay", tag = "webhooks", request_body = ReplayIn,
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 202, body = ReplayOut), (status = 404, body = super::error::ErrorBody),
        (status = 409, description = "The webhook is disabled", body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn replay(
    CallerTenant(scope): CallerTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReplayIn>,
) -> Result<(StatusCode, Json<ReplayOut>), ApiError> {
    let id = WebhookId::from_trusted(id);
    let out = replay_in(&state, &scope, id, input).await?;
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// Queues a webhook's past deliveries again (the API's and the dashboard's replay).
pub(crate) async fn replay_in(
    state: &AppState,
    scope: &Scope,
    webhook: WebhookId,
    input: ReplayIn,
) -> Result<ReplayOut, ApiError> {
    let time = |s: &str, field: &str| {
        parse_rfc3339(s).ok_or_else(|| {
            ApiError::invalid(
                field,
                "must be an RFC 3339 time such as 2026-11-22T10:00:00Z",
            )
        })
    };
    let now = now_ms();
    let since = time(&input.since, "since")?;
    let until = match &input.until {
        Some(u) => time(u, "until")?,
        None => now + 1,
    };
    // A window that ends before it starts is empty: nothing is queued again.
    let status =
        match &input.status {
            None => None,
            Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
                ApiError::invalid("status", "must be pending, succeeded or failed")
            })?),
        };
    ensure_enabled(&find_webhook(state, scope, &webhook).await?)?;
    let requeued = state
        .store
        .replay(
            &scope.0,
            &webhook,
            &Replay {
                since,
                until,
                status,
                now,
            },
        )
        .await
        .map_err(|e| ApiError::from_store(e, "webhook"))?;
    if requeued > 0 {
        state.wake.notify_one();
    }
    Ok(ReplayOut {
        requeued,
        since: rfc3339(since),
        until: rfc3339(until),
    })
}

/// Queues a tenant's webhook's past deliveries again (admin).
#[utoipa::path(post, path = "/v1/tenants/{tid}/webhooks/{id}/replay", tag = "webhooks", request_body = ReplayIn,
    params(("tid" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Webhook id")),
    responses((status = 202, body = ReplayOut), (status = 404, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn replay_tenant(
    PathTenant(scope): PathTenant,
    state: State<AppState>,
    ApiPath(path): ApiPath<(String, String)>,
    input: ApiJson<ReplayIn>,
) -> Result<(StatusCode, Json<ReplayOut>), ApiError> {
    replay(CallerTenant(scope), state, ApiPath(path.1), input).await
}
