//! Publishing. `POST /v1/events` hands the event to the group-commit writer, which stores it and
//! its deliveries in one transaction, then answers 202. A repeated id answers 200 with the first
//! result when it repeats the first content, and 409 when it brings other content (which would
//! otherwise be dropped silently); only that rare path reads the stored event back.
//! `GET /v1/events/{id}` shows an event with its deliveries (admin only: an event may go to
//! several tenants). The parsing and the repeated-id checks are shared with the batch publish
//! (`events_batch.rs`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Admin;
use super::deliveries::DeliveryOut;
use super::extract::{ApiJson, ApiPath};
use super::schemas::check;
use super::{ApiError, AppState};
use crate::clock::{now_ms, rfc3339};
use crate::ids::{EventId, TenantId};
use crate::model::{Channel, EventTypeName};
use crate::store::{Event, NewEvent, Published};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(publish))
        .routes(routes!(get_event))
}

/// An event to publish.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "id": "order-1042-paid",
    "type": "order.paid",
    "data": {"order_id": 1042, "amount_cents": 1999},
    "channels": ["orders"]
}))]
pub struct PublishIn {
    /// Idempotency key: publishing the same id again creates nothing. Generated when absent.
    id: Option<String>,
    /// The event type, e.g. `meeting.ended`.
    #[serde(rename = "type")]
    event_type: String,
    /// The event's data: a JSON object, delivered as sent. Every receiver's parser must read it,
    /// so it nests at most 64 levels deep, holds no lone UTF-16 surrogate and no number beyond
    /// a double.
    #[schema(value_type = Object)]
    data: Box<RawValue>,
    /// The tenant whose webhooks receive it (default `default`).
    tenant: Option<String>,
    /// Several tenants at once (e.g. every member of a team); exclusive with `tenant`.
    tenants: Option<Vec<String>>,
    /// Channels the event carries; webhooks with channels only get events carrying one.
    channels: Option<Vec<String>>,
}

/// The published event.
#[derive(Serialize, ToSchema)]
pub struct PublishOut {
    /// The event id.
    id: String,
    /// Deliveries queued for it.
    deliveries: u64,
}

/// A published event with its deliveries.
#[derive(Serialize, ToSchema)]
pub struct EventOut {
    /// The event id.
    id: String,
    /// The event type.
    #[serde(rename = "type")]
    event_type: String,
    /// The tenants it was published to.
    tenants: Vec<String>,
    /// The channels it carries.
    channels: Vec<String>,
    /// The data, exactly as published.
    #[schema(value_type = Object)]
    data: Box<RawValue>,
    /// RFC 3339.
    created_at: String,
    /// One per webhook it went to, oldest first (a deleted webhook's are gone with it).
    deliveries: Vec<DeliveryOut>,
}

impl EventOut {
    fn new(event: Event, deliveries: Vec<crate::store::Delivery>) -> Self {
        // Stored data is JSON the API checked before writing it; a row that does not parse
        // (only a damaged database has one) reads as null rather than failing the request.
        let data = RawValue::from_string(event.data).unwrap_or_default();
        Self {
            id: event.id.to_string(),
            event_type: event.event_type,
            tenants: event.tenants.iter().map(ToString::to_string).collect(),
            channels: event.channels,
            data,
            created_at: rfc3339(event.created_at),
            deliveries: deliveries.into_iter().map(DeliveryOut::from).collect(),
        }
    }
}

/// Parses and checks one event; `at` prefixes field names (`""` or `"events[3]."`).
pub(super) async fn parse_event(
    state: &AppState,
    input: &PublishIn,
    at: &str,
) -> Result<NewEvent, ApiError> {
    let field = |name: &str| format!("{at}{name}");
    let id = match &input.id {
        Some(id) => EventId::parse(id).map_err(|m| ApiError::invalid(field("id"), m))?,
        None => EventId::generate(),
    };
    let event_type = EventTypeName::parse(&input.event_type, &field("type"))?;
    let tenants = target_tenants(input, at)?;
    let channels = Channel::parse_list(
        input.channels.as_deref().unwrap_or_default(),
        &field("channels"),
    )?;
    let data = input.data.get();
    if !data.trim_start().starts_with('{') {
        return Err(ApiError::invalid(field("data"), "must be a JSON object"));
    }
    crate::model::data::check_data(data, &field("data"))?;
    if let Some(validator) = state
        .catalog
        .validator(&*state.store, event_type.as_str())
        .await?
    {
        let value: serde_json::Value = serde_json::from_str(data)
            .map_err(|e| ApiError::invalid(field("data"), e.to_string()))?;
        check(&validator, &value, &field("data"))?;
    }
    Ok(NewEvent {
        id,
        event_type: event_type.as_str().to_owned(),
        tenants,
        channels: channels.iter().map(|c| c.as_str().to_owned()).collect(),
        data: data.to_owned(),
        created_at: now_ms(),
    })
}

fn target_tenants(input: &PublishIn, at: &str) -> Result<Vec<TenantId>, ApiError> {
    let invalid = |name: &str, msg: &str| ApiError::invalid(format!("{at}{name}"), msg);
    let (single, raw): (bool, &[String]) = match (&input.tenant, &input.tenants) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "tenants",
                "give either `tenant` or `tenants`, not both",
            ));
        }
        (Some(t), None) => (true, std::slice::from_ref(t)),
        (None, Some(ts)) if ts.is_empty() => {
            return Err(invalid("tenants", "must name at least one tenant"));
        }
        (None, Some(ts)) if ts.len() > 1000 => {
            return Err(invalid("tenants", "at most 1000 tenants"));
        }
        (None, Some(ts)) => (false, ts.as_slice()),
        (None, None) => return Ok(vec![TenantId::default_tenant()]),
    };
    let mut tenants: Vec<TenantId> = Vec::with_capacity(raw.len());
    for (i, t) in raw.iter().enumerate() {
        let name = if single {
            "tenant".to_owned()
        } else {
            format!("tenants[{i}]")
        };
        let id = TenantId::parse(t).map_err(|m| invalid(&name, m))?;
        if !tenants.contains(&id) {
            tenants.push(id);
        }
    }
    Ok(tenants)
}

/// What a repeated event id brings that differs from the stored event, if anything. Data is
/// compared as JSON values, so whitespace and key order do not count as a difference.
pub(super) async fn difference(
    state: &AppState,
    stored_id: &EventId,
    input: &PublishIn,
) -> Result<Option<&'static str>, ApiError> {
    let (stored, _) = state
        .store
        .get_event(stored_id)
        .await
        .map_err(|e| ApiError::from_store(e, "event"))?;
    if stored.event_type != input.event_type {
        return Ok(Some("type"));
    }
    let mut tenants = target_tenants(input, "")?;
    let mut stored_tenants = stored.tenants;
    tenants.sort();
    stored_tenants.sort();
    if tenants != stored_tenants {
        return Ok(Some("tenants"));
    }
    let parsed = Channel::parse_list(input.channels.as_deref().unwrap_or_default(), "channels")?;
    let mut channels: Vec<&str> = parsed.iter().map(Channel::as_str).collect();
    let mut stored_channels: Vec<&str> = stored.channels.iter().map(String::as_str).collect();
    channels.sort_unstable();
    channels.dedup();
    stored_channels.sort_unstable();
    stored_channels.dedup();
    if channels != stored_channels {
        return Ok(Some("channels"));
    }
    let value = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    if value(input.data.get()) != value(&stored.data) {
        return Ok(Some("data"));
    }
    Ok(None)
}

/// The 409 of an event id repeated with other content.
pub(super) fn changed(id: &str, what: &str) -> ApiError {
    ApiError::Conflict(format!(
        "event {id} was published before with a different {what}: an event id names one event, \
         so publish new content under a new id"
    ))
}

pub(super) fn unknown_tenant(tenant_count: usize, tenant: &TenantId, at: &str) -> ApiError {
    let field = if tenant_count == 1 {
        "tenant"
    } else {
        "tenants"
    };
    ApiError::invalid(
        format!("{at}{field}"),
        format!("tenant {tenant} does not exist"),
    )
}

/// Publishes an event to every matching webhook of the target tenant(s).
#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = PublishIn,
    responses(
        (status = 202, description = "Accepted: the event and its deliveries are stored", body = PublishOut),
        (status = 200, description = "This id was published before; nothing new was queued", body = PublishOut),
        (status = 409, description = "This id was published before with other content; nothing changed", body = super::error::ErrorBody),
        (status = 413, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody),
        (status = 503, description = "The database cannot be reached: nothing is promised; send the same events again", body = super::error::ErrorBody)))]
async fn publish(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<PublishIn>,
) -> Result<(StatusCode, Json<PublishOut>), ApiError> {
    let event = parse_event(&state, &input, "").await?;
    let id = event.id.to_string();
    let tenant_count = event.tenants.len();
    let published = state
        .publisher
        .publish(event)
        .await
        .map_err(|e| ApiError::from_store(e, "event"))?;
    let (status, deliveries) = match published {
        Published::Created { deliveries } => (StatusCode::ACCEPTED, deliveries),
        Published::Duplicate { deliveries } => {
            let event_id = EventId::from_trusted(id.as_str());
            if let Some(what) = difference(&state, &event_id, &input).await? {
                return Err(changed(&id, what));
            }
            (StatusCode::OK, deliveries)
        }
        Published::UnknownTenant(t) => return Err(unknown_tenant(tenant_count, &t, "")),
    };
    Ok((status, Json(PublishOut { id, deliveries })))
}

/// One event with every delivery it made (admin).
#[utoipa::path(get, path = "/v1/events/{id}", tag = "events",
    params(("id" = String, Path, description = "Event id")),
    responses((status = 200, body = EventOut), (status = 403, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody)))]
async fn get_event(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<EventOut>, ApiError> {
    let (event, deliveries) = state
        .store
        .get_event(&EventId::from_trusted(id))
        .await
        .map_err(|e| ApiError::from_store(e, "event"))?;
    Ok(Json(EventOut::new(event, deliveries)))
}
