//! Batch publishing. `POST /v1/events/batch` publishes up to 1,000 events in one transaction,
//! with one result per event, in order: each event is parsed and checked as `POST /v1/events`
//! checks it (`events.rs`), and one refused gets a 422 entry without stopping the others. A
//! repeated id answers 200, or 409 when it brings other content, as a single publish does.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Admin;
use super::error::ErrorDetail;
use super::events::{PublishIn, changed, difference, parse_event, unknown_tenant};
use super::extract::ApiJson;
use super::{ApiError, AppState};
use crate::ids::EventId;
use crate::store::Published;

/// Most events in one batch request.
const MAX_BATCH: usize = 1000;

/// `POST /v1/events/batch`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(publish_batch))
}

/// Events to publish together.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"events": [
    {"id": "order-1043-paid", "type": "order.paid", "data": {"order_id": 1043}},
    {"id": "order-1044-paid", "type": "order.paid", "data": {"order_id": 1044}}
]}))]
pub struct BatchIn {
    /// 1 to 1,000 events, each as `POST /v1/events` takes it.
    events: Vec<PublishIn>,
}

/// One event's outcome in a batch.
#[derive(Serialize, ToSchema)]
pub struct BatchItemOut {
    /// 202 published, 200 published before (nothing new), 409 published before with other
    /// content (nothing changed), 422 refused.
    status: u16,
    /// The event id (absent when refused before it had one).
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// Deliveries queued for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    deliveries: Option<u64>,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorDetail>,
}

/// The outcome of a batch, one entry per event in order.
#[derive(Serialize, ToSchema)]
pub struct BatchOut {
    /// Results, in the order of the request's events.
    data: Vec<BatchItemOut>,
}

/// Publishes up to 1,000 events in one transaction. Each event is checked on its own: refused
/// ones get a 422 entry and do not stop the others.
#[utoipa::path(post, path = "/v1/events/batch", tag = "events", request_body = BatchIn,
    responses(
        (status = 200, description = "One result per event, in order", body = BatchOut),
        (status = 413, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody),
        (status = 503, description = "The database cannot be reached: nothing is promised; send the same events again", body = super::error::ErrorBody)))]
async fn publish_batch(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<BatchIn>,
) -> Result<Json<BatchOut>, ApiError> {
    if input.events.is_empty() || input.events.len() > MAX_BATCH {
        return Err(ApiError::invalid("events", "must hold 1 to 1000 events"));
    }
    let mut results: Vec<Option<BatchItemOut>> = Vec::with_capacity(input.events.len());
    let mut positions = Vec::with_capacity(input.events.len());
    let mut events = Vec::with_capacity(input.events.len());
    for (i, item) in input.events.iter().enumerate() {
        match parse_event(&state, item, &format!("events[{i}].")).await {
            Ok(event) => {
                positions.push(i);
                events.push(event);
                results.push(None);
            }
            Err(e) => results.push(Some(refused(e))),
        }
    }
    // What the answer needs of each event, kept while the events go to the writer.
    let sent: Vec<(String, usize)> = events
        .iter()
        .map(|e| (e.id.to_string(), e.tenants.len()))
        .collect();
    let published = state
        .publisher
        .publish_many(events)
        .await
        .map_err(|e| ApiError::from_store(e, "event"))?;
    for ((i, (id, tenants)), outcome) in positions.into_iter().zip(sent).zip(published) {
        let id = Some(id);
        results[i] = Some(match outcome {
            Published::Created { deliveries } => BatchItemOut {
                status: 202,
                id,
                deliveries: Some(deliveries),
                error: None,
            },
            Published::Duplicate { deliveries } => {
                let event_id = EventId::from_trusted(id.clone().unwrap_or_default());
                match difference(&state, &event_id, &input.events[i]).await? {
                    Some(what) => BatchItemOut {
                        status: 409,
                        id,
                        deliveries: None,
                        error: Some(changed(event_id.as_str(), what).detail()),
                    },
                    None => BatchItemOut {
                        status: 200,
                        id,
                        deliveries: Some(deliveries),
                        error: None,
                    },
                }
            }
            Published::UnknownTenant(t) => {
                refused(unknown_tenant(tenants, &t, &format!("events[{i}].")))
            }
        });
    }
    Ok(Json(BatchOut {
        data: results.into_iter().flatten().collect(),
    }))
}

fn refused(e: ApiError) -> BatchItemOut {
    BatchItemOut {
        status: 422,
        id: None,
        deliveries: None,
        error: Some(e.detail()),
    }
}
