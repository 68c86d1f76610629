//! The delivery log: a webhook's deliveries, one delivery with its attempts and the request it
//! made, manual retry. The request is re-rendered on read (from the event, the webhook's
//! current settings and the attempt's time) with the sender's own rendering, so the hot path
//! stores nothing per attempt beyond its outcome.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{CallerTenant, PathTenant, Scope, Visibility};
use super::extract::{ApiPath, ApiQuery};
use super::page::{ListResponse, PageQuery};
use super::webhooks::find_webhook;
use super::{ApiError, AppState};
use crate::clock::{now_ms, parse_rfc3339, rfc3339};
use crate::delivery::send::Message;
use crate::delivery::{Sender, Target};
use crate::ids::{DeliveryId, WebhookId};
use crate::store::{self, Attempt, Delivery, DeliveryFilter, DeliveryStatus, Page};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(list_tenant_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(retry_delivery))
}

/// A delivery: one event for one webhook.
#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    /// `dlv_…`
    id: String,
    /// The event.
    event_id: String,
    /// The webhook.
    webhook_id: String,
    /// The event's type.
    event_type: String,
    /// `pending`, `succeeded` or `failed`.
    status: String,
    /// Attempts made.
    attempt_count: u32,
    /// When the next attempt is due (pending only).
    next_attempt_at: Option<String>,
    /// Made by a test send (`POST /v1/webhooks/{id}/test`) rather than by a published event.
    test: bool,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            webhook_id: d.webhook_id.to_string(),
            event_type: d.event_type,
            status: d.status.as_str().to_owned(),
            attempt_count: d.attempts,
            next_attempt_at: d.next_attempt_at.map(rfc3339),
            test: d.test,
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
        }
    }
}

/// One HTTP request of a delivery.
#[derive(Serialize, ToSchema)]
pub struct AttemptOut {
    /// `att_…`
    id: String,
    /// 1 for the first attempt.
    attempt: u32,
    /// RFC 3339.
    started_at: String,
    /// Milliseconds.
    latency_ms: i64,
    /// The response's status, if one arrived.
    status_code: Option<u16>,
    /// The first 4 KiB of the response body.
    response_body: Option<String>,
    /// Why no acceptable response arrived: timeout, connection refused, dns, tls…
    error: Option<String>,
    /// A 2xx within the timeout.
    succeeded: bool,
}

impl From<Attempt> for AttemptOut {
    fn from(a: Attempt) -> Self {
        let r = a.result;
        Self {
            id: a.id.to_string(),
            attempt: a.attempt,
            started_at: rfc3339(r.started_at),
            latency_ms: r.latency_ms,
            status_code: r.status_code,
            response_body: r.response_body,
            error: r.error,
            succeeded: r.succeeded,
        }
    }
}

/// The request a delivery's latest attempt made, re-rendered when read: from the event, the
/// webhook's settings as they are now (payload format, custom headers, signature scheme and
/// secrets) and the attempt's start time. It matches what the endpoint received unless the
/// webhook changed since. Secrets are never shown; signatures are (they are not secrets).
#[derive(Serialize, ToSchema)]
pub struct RequestOut {
    /// The attempt it was made by (1 for the first).
    pub(crate) attempt: u32,
    /// `POST`, or `PUBLISH` for a broker destination (docs/brokers.md), whose message
    /// carries these headers as its headers, properties or fields.
    pub(crate) method: &'static str,
    /// The webhook's URL (a broker's password shown as `***`).
    pub(crate) url: String,
    /// The headers hookrelay sets, by lowercase name: `content-type`, the webhook's custom
    /// headers, `webhook-id`, `webhook-timestamp` and the signature. The HTTP client adds
    /// `host`, `content-length`, `accept` and `user-agent`.
    pub(crate) headers: BTreeMap<String, String>,
    /// The body, exactly as sent.
    pub(crate) body: String,
}

/// A delivery with its attempts, oldest first, and the request it made.
#[derive(Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    delivery: DeliveryOut,
    /// Every attempt, oldest first.
    attempts: Vec<AttemptOut>,
    /// The latest attempt's request; null before the first attempt, or when the request cannot
    /// be rendered (the attempt's `error` says why).
    request: Option<RequestOut>,
}

impl From<store::DeliveryDetail> for DeliveryDetail {
    fn from(detail: store::DeliveryDetail) -> Self {
        let request = rerender(&detail);
        Self {
            delivery: detail.delivery.into(),
            attempts: detail.attempts.into_iter().map(AttemptOut::from).collect(),
            request,
        }
    }
}

/// The request of the latest attempt, rendered by the sender's own code.
pub(crate) fn rerender(detail: &store::DeliveryDetail) -> Option<RequestOut> {
    let last = detail.attempts.last()?;
    let event = detail.event.as_ref()?;
    let webhook = detail.webhook.clone()?;
    let url = webhook.url.masked().into_owned();
    let method = if webhook.url.broker().is_some() {
        "PUBLISH"
    } else {
        "POST"
    };
    let target = Target::new(webhook);
    let message = Message {
        id: event.id.as_str(),
        event_type: &event.event_type,
        created_at: event.created_at,
        data: &event.data,
    };
    let (headers, body) = Sender::render_request(&target, message, last.result.started_at).ok()?;
    Some(RequestOut {
        attempt: last.attempt,
        method,
        url,
        headers: headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A delivery's state, as filters name it.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(
    dead_code,
    reason = "documents the accepted values; parsed by DeliveryStatus::parse"
)]
pub enum StatusName {
    /// Not finished: due, in flight, or waiting to be retried.
    Pending,
    /// An attempt got a 2xx.
    Succeeded,
    /// Every attempt failed.
    Failed,
}

/// Filters of the delivery log.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Only deliveries in this state.
    #[param(value_type = Option<StatusName>, inline)]
    status: Option<String>,
    /// Only this event type.
    #[param(pattern = "^[^\\u0000]*$")]
    event_type: Option<String>,
    /// Only deliveries created at or after this RFC 3339 time.
    #[param(format = DateTime)]
    since: Option<String>,
    /// Only deliveries created before this RFC 3339 time.
    #[param(format = DateTime)]
    until: Option<String>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 250)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page; empty or absent for the first page.
    #[param(pattern = "^(dlv_[0-7][0-9A-HJKMNP-TV-Z]{25})?$", max_length = 30)]
    cursor: Option<String>,
}

impl LogQuery {
    fn parse(&self) -> Result<(DeliveryFilter, Page), ApiError> {
        let status = match &self.status {
            None => None,
            Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
                ApiError::invalid("status", "must be pending, succeeded or failed")
            })?),
        };
        let time = |value: &Option<String>, field: &str| match value {
            None => Ok(None),
            Some(s) => parse_rfc3339(s).map(Some).ok_or_else(|| {
                ApiError::invalid(
                    field,
                    "must be an RFC 3339 time such as 2026-11-22T10:00:00Z",
                )
            }),
        };
        // A window that ends before it starts is empty, not an error: the list is.
        let since = time(&self.since, "since")?;
        let until = time(&self.until, "until")?;
        let page = PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
        .page(DeliveryId::is_well_formed)?;
        Ok((
            DeliveryFilter {
                status,
                event_type: self.event_type.clone(),
                since,
                until,
            },
            page,
        ))
    }
}

/// A webhook's deliveries, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "deliveries",
    params(("id" = String, Path, description = "Webhook id"), LogQuery),
    responses((status = 200, body = ListResponse<DeliveryOut>), (status = 404, body = super::error::ErrorBody)))]
async fn list_deliveries(
    CallerTenant(scope): CallerTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<ListResponse<DeliveryOut>>, ApiError> {
    list_log(&state, &scope, WebhookId::from_trusted(id), &q).await
}

/// A tenant's webhook's deliveries (admin).
#[utoipa::path(get, path = "/v1/tenants/{tid}/webhooks/{id}/deliveries", tag = "deliveries",
    params(("tid" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Webhook id"), LogQuery),
    responses((status = 200, body = ListResponse<DeliveryOut>), (status = 404, body = super::error::ErrorBody)))]
async fn list_tenant_deliveries(
    PathTenant(scope): PathTenant,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<ListResponse<DeliveryOut>>, ApiError> {
    list_log(&state, &scope, WebhookId::from_trusted(path.1), &q).await
}

async fn list_log(
    state: &AppState,
    scope: &Scope,
    webhook: WebhookId,
    q: &LogQuery,
) -> Result<Json<ListResponse<DeliveryOut>>, ApiError> {
    let (filter, page) = q.parse()?;
    find_webhook(state, scope, &webhook).await?;
    let paged = state
        .store
        .list_deliveries(&scope.0, &webhook, &filter, &page)
        .await
        .map_err(|e| ApiError::from_store(e, "delivery"))?;
    Ok(Json(ListResponse::from_paged(paged, DeliveryOut::from)))
}

/// One delivery with every attempt and the request it made (re-rendered: see `RequestOut`).
#[utoipa::path(get, path = "/v1/deliveries/{id}", tag = "deliveries",
    params(("id" = String, Path, description = "Delivery id")),
    responses((status = 200, body = DeliveryDetail), (status = 404, body = super::error::ErrorBody)))]
async fn get_delivery(
    Visibility(tenant): Visibility,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    let detail = state
        .store
        .get_delivery(tenant.as_ref(), &DeliveryId::from_trusted(id))
        .await
        .map_err(|e| ApiError::from_store(e, "delivery"))?;
    Ok(Json(detail.into()))
}

/// Attempts a delivery again now, whatever its state.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", tag = "deliveries",
    params(("id" = String, Path, description = "Delivery id")),
    responses((status = 202, body = DeliveryOut), (status = 404, body = super::error::ErrorBody),
        (status = 409, description = "Its webhook is disabled", body = super::error::ErrorBody)))]
async fn retry_delivery(
    Visibility(tenant): Visibility,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<DeliveryOut>), ApiError> {
    let delivery = retry(&state, tenant.as_ref(), DeliveryId::from_trusted(id)).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}

/// Makes a delivery due now, unless its webhook is disabled (409); `tenant` None: any
/// tenant's (the API's and the dashboard's retry).
pub(crate) async fn retry(
    state: &AppState,
    tenant: Option<&crate::ids::TenantId>,
    id: DeliveryId,
) -> Result<Delivery, ApiError> {
    let tenant = tenant.cloned();
    let detail = state
        .store
        .get_delivery(tenant.as_ref(), &id)
        .await
        .map_err(|e| ApiError::from_store(e, "delivery"))?;
    if let Some(webhook) = &detail.webhook {
        super::webhooks::ensure_enabled(webhook)?;
    }
    let delivery = state
        .store
        .retry_delivery(tenant.as_ref(), &id, now_ms())
        .await
        .map_err(|e| ApiError::from_store(e, "delivery"))?;
    state.wake.notify_one();
    Ok(delivery)
}
