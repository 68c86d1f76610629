//! The event type catalog: read by anyone with a key, written by the admin.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Admin, Caller};
use super::extract::double_option;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::page::{EventTypePage, ListResponse};
use super::schemas::{check, compile};
use super::{ApiError, AppState};
use crate::clock::{now_ms, rfc3339};
use crate::model::EventTypeName;
use crate::store::EventType;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_event_types, create_event_type))
        .routes(routes!(
            get_event_type,
            update_event_type,
            delete_event_type
        ))
}

/// A catalog entry.
#[derive(Serialize, ToSchema)]
pub struct EventTypeOut {
    /// `meeting.ended`
    name: String,
    /// What it means.
    description: String,
    /// Example data, used by test sends.
    #[schema(value_type = Option<Object>)]
    example: Option<Value>,
    /// JSON Schema that published data must match.
    #[schema(value_type = Option<Object>)]
    schema: Option<Value>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

impl From<EventType> for EventTypeOut {
    fn from(t: EventType) -> Self {
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        Self {
            name: t.name,
            description: t.description,
            example: parse(t.example),
            schema: parse(t.schema),
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

/// A new catalog entry.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "order.paid",
    "description": "An order was paid in full.",
    "example": {"order_id": 1042, "amount_cents": 1999},
    "schema": {"type": "object", "required": ["order_id"]}
}))]
pub struct EventTypeIn {
    /// Dot-separated name.
    name: String,
    /// What it means.
    #[serde(default)]
    description: String,
    /// Example data.
    #[schema(value_type = Option<Object>)]
    example: Option<Value>,
    /// JSON Schema for the data; remote `$ref`s are refused.
    #[schema(value_type = Option<Object>)]
    schema: Option<Value>,
}

/// Changes to a catalog entry.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventTypePatch {
    description: Option<String>,
    /// null removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    example: Option<Option<Value>>,
    /// null removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    schema: Option<Option<Value>>,
}

/// Checks description, schema and example together; answers their stored text.
fn checked(
    description: &str,
    example: Option<&Value>,
    schema: Option<&Value>,
) -> Result<(Option<String>, Option<String>), ApiError> {
    crate::model::check_text(description, "description")?;
    if description.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "description",
            "must be at most 1000 characters",
        ));
    }
    if let Some(schema) = schema {
        let validator = compile(schema, "schema")?;
        if let Some(example) = example {
            check(&validator, example, "example")?;
        }
    }
    let text = |v: Option<&Value>| v.map(Value::to_string);
    Ok((text(example), text(schema)))
}

fn store_err(e: crate::store::Error) -> ApiError {
    ApiError::from_store(e, "event type")
}

/// Lists the catalog.
#[utoipa::path(get, path = "/v1/event-types", tag = "event-types", params(EventTypePage),
    responses((status = 200, body = ListResponse<EventTypeOut>)))]
async fn list_event_types(
    _: Caller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EventTypePage>,
) -> Result<Json<ListResponse<EventTypeOut>>, ApiError> {
    let paged = state
        .store
        .list_event_types(&q.page()?)
        .await
        .map_err(store_err)?;
    Ok(Json(ListResponse::from_paged(paged, EventTypeOut::from)))
}

/// Adds an event type.
#[utoipa::path(post, path = "/v1/event-types", tag = "event-types", request_body = EventTypeIn,
    responses((status = 201, body = EventTypeOut), (status = 409, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn create_event_type(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<EventTypeIn>,
) -> Result<(StatusCode, Json<EventTypeOut>), ApiError> {
    let event_type = create_in(&state, input).await?;
    Ok((StatusCode::CREATED, Json(event_type.into())))
}

/// Adds an event type to the catalog (the API's and the dashboard's).
pub(crate) async fn create_in(state: &AppState, input: EventTypeIn) -> Result<EventType, ApiError> {
    let name = EventTypeName::parse(&input.name, "name")?;
    let (example, schema) = checked(
        &input.description,
        input.example.as_ref(),
        input.schema.as_ref(),
    )?;
    let now = now_ms();
    let event_type = EventType {
        name: name.as_str().to_owned(),
        description: input.description,
        example,
        schema,
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .create_event_type(&event_type)
        .await
        .map_err(store_err)?;
    state.catalog.invalidate(&event_type.name);
    Ok(event_type)
}

/// Reads an event type.
#[utoipa::path(get, path = "/v1/event-types/{name}", tag = "event-types",
    params(("name" = String, Path, description = "Event type name")),
    responses((status = 200, body = EventTypeOut), (status = 404, body = super::error::ErrorBody)))]
async fn get_event_type(
    _: Caller,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<EventTypeOut>, ApiError> {
    let t = state.store.get_event_type(&name).await.map_err(store_err)?;
    Ok(Json(t.into()))
}

/// Changes an event type.
#[utoipa::path(patch, path = "/v1/event-types/{name}", tag = "event-types", request_body = EventTypePatch,
    params(("name" = String, Path, description = "Event type name")),
    responses((status = 200, body = EventTypeOut), (status = 404, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn update_event_type(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(patch): ApiJson<EventTypePatch>,
) -> Result<Json<EventTypeOut>, ApiError> {
    Ok(Json(update_in(&state, &name, patch).await?.into()))
}

/// Changes an event type (the API's and the dashboard's).
pub(crate) async fn update_in(
    state: &AppState,
    name: &str,
    patch: EventTypePatch,
) -> Result<EventType, ApiError> {
    let store = &state.store;
    let mut t = store.get_event_type(name).await.map_err(store_err)?;
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
    };
    let example = patch.example.unwrap_or_else(|| parse(&t.example));
    let schema = patch.schema.unwrap_or_else(|| parse(&t.schema));
    if let Some(d) = patch.description {
        t.description = d;
    }
    (t.example, t.schema) = checked(&t.description, example.as_ref(), schema.as_ref())?;
    t.updated_at = now_ms().max(t.updated_at + 1);
    store.update_event_type(&t).await.map_err(store_err)?;
    state.catalog.invalidate(&t.name);
    Ok(t)
}

/// Removes an event type from the catalog. Published events of the type are kept.
#[utoipa::path(delete, path = "/v1/event-types/{name}", tag = "event-types",
    params(("name" = String, Path, description = "Event type name")),
    responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
async fn delete_event_type(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_event_type(&name)
        .await
        .map_err(store_err)?;
    state.catalog.invalidate(&name);
    Ok(StatusCode::NO_CONTENT)
}
