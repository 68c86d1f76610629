//! Publishing: `POST /v1/events` writes the event and its deliveries in one transaction, wakes
//! the delivery worker, and answers 202. A repeated id answers 200 with the first result.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Admin;
use super::extract::ApiJson;
use super::schemas::check;
use super::{ApiError, AppState};
use crate::clock::now_ms;
use crate::ids::{EventId, TenantId};
use crate::model::{Channel, EventTypeName};
use crate::store::{NewEvent, Published};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(publish))
}

/// An event to publish.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishIn {
    /// Idempotency key: publishing the same id again creates nothing. Generated when absent.
    id: Option<String>,
    /// The event type, e.g. `meeting.ended`.
    #[serde(rename = "type")]
    event_type: String,
    /// The event's data: a JSON object, delivered as sent.
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

fn target_tenants(input: &PublishIn) -> Result<Vec<TenantId>, ApiError> {
    let (field, raw): (&str, Vec<String>) = match (&input.tenant, &input.tenants) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "tenants",
                "give either `tenant` or `tenants`, not both",
            ));
        }
        (Some(t), None) => ("tenant", vec![t.clone()]),
        (None, Some(ts)) if ts.is_empty() => {
            return Err(ApiError::invalid(
                "tenants",
                "must name at least one tenant",
            ));
        }
        (None, Some(ts)) if ts.len() > 1000 => {
            return Err(ApiError::invalid("tenants", "at most 1000 tenants"));
        }
        (None, Some(ts)) => ("tenants", ts.clone()),
        (None, None) => return Ok(vec![TenantId::default_tenant()]),
    };
    let mut tenants: Vec<TenantId> = Vec::with_capacity(raw.len());
    for (i, t) in raw.iter().enumerate() {
        let at = if field == "tenant" {
            field.to_owned()
        } else {
            format!("tenants[{i}]")
        };
        let id = TenantId::parse(t).map_err(|m| ApiError::invalid(at, m))?;
        if !tenants.contains(&id) {
            tenants.push(id);
        }
    }
    Ok(tenants)
}

/// Publishes an event to every matching webhook of the target tenant(s).
#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = PublishIn,
    responses(
        (status = 202, description = "Accepted: the event and its deliveries are stored", body = PublishOut),
        (status = 200, description = "This id was published before; nothing new was queued", body = PublishOut),
        (status = 413, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn publish(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<PublishIn>,
) -> Result<(StatusCode, Json<PublishOut>), ApiError> {
    let id = match &input.id {
        Some(id) => EventId::parse(id).map_err(|m| ApiError::invalid("id", m))?,
        None => EventId::generate(),
    };
    let event_type = EventTypeName::parse(&input.event_type, "type")?;
    let tenants = target_tenants(&input)?;
    let channels = Channel::parse_list(input.channels.as_deref().unwrap_or_default(), "channels")?;
    let data = input.data.get();
    if !data.trim_start().starts_with('{') {
        return Err(ApiError::invalid("data", "must be a JSON object"));
    }
    match state.store.get_event_type(event_type.as_str()).await {
        Ok(known) => {
            if let Some(validator) = state.schemas.validator(&known) {
                let value: serde_json::Value = serde_json::from_str(data)
                    .map_err(|e| ApiError::invalid("data", e.to_string()))?;
                check(&validator, &value, "data")?;
            }
        }
        Err(crate::store::Error::NotFound) => {}
        Err(e) => return Err(ApiError::from_store(e, "event type")),
    }
    let event = NewEvent {
        id,
        event_type: event_type.as_str().to_owned(),
        tenants,
        channels: channels.iter().map(|c| c.as_str().to_owned()).collect(),
        data: data.to_owned(),
        created_at: now_ms(),
    };
    let published = state
        .store
        .publish(&event)
        .await
        .map_err(|e| ApiError::from_store(e, "event"))?;
    let (status, deliveries) = match published {
        Published::Created { deliveries } => {
            if deliveries > 0 {
                state.wake.notify_one();
            }
            (StatusCode::ACCEPTED, deliveries)
        }
        Published::Duplicate { deliveries } => (StatusCode::OK, deliveries),
        Published::UnknownTenant(t) => {
            let field = if input.tenant.is_some() {
                "tenant"
            } else {
                "tenants"
            };
            return Err(ApiError::invalid(
                field,
                format!("tenant {t} does not exist"),
            ));
        }
    };
    Ok((
        status,
        Json(PublishOut {
            id: event.id.to_string(),
            deliveries,
        }),
    ))
}
