//! The HTTP API. Each resource module exports `router()`; this module merges them into one axum
//! router and one OpenAPI document. Every route is registered through `utoipa_axum::routes!`,
//! so a route cannot exist without being documented.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use tokio::sync::Notify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::UrlPolicy;
use crate::publisher::Publisher;
use crate::store::Store;

pub mod access_log;
pub mod auth;
mod contract;
pub(crate) mod dashboard_links;
pub(crate) mod deliveries;
pub mod error;
pub(crate) mod event_types;
mod events;
mod events_batch;
pub mod extract;
mod health;
mod page;
pub(crate) mod rotation;
pub mod schemas;
pub(crate) mod sends;
pub(crate) mod stats;
mod tenants;
pub(crate) mod webhook_json;
pub(crate) mod webhook_secret;
pub(crate) mod webhooks;
mod whole;
mod wording;

pub use error::ApiError;
pub use health::metrics_router;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState(Arc<StateInner>);

/// The state's contents.
pub struct StateInner {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Group-commit publishing.
    pub publisher: Publisher,
    /// Makes test sends (the same client and address guard as the workers).
    pub sender: crate::delivery::Sender,
    /// Wakes the delivery worker when work is written.
    pub wake: Arc<Notify>,
    /// SHA-256 of the admin key.
    pub admin_key_hash: String,
    /// Whether plain-HTTP and private URLs are accepted.
    pub url_policy: UrlPolicy,
    /// Compiled JSON Schemas of the event type catalog.
    pub catalog: schemas::Catalog,
    /// How long a rotated-out secret keeps signing.
    pub rotation_overlap: std::time::Duration,
    /// The tenant of the operator's operational webhook, when one is configured.
    pub operations: Option<crate::ids::TenantId>,
    /// `public_url`: where people reach this server, for dashboard links.
    pub public_url: Option<String>,
    /// Renders `/metrics`.
    pub exporter: Arc<crate::measure::Exporter>,
    /// Who may read `/metrics` here.
    pub metrics_access: MetricsAccess,
}

/// Who may read `/metrics` on the API's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsAccess {
    /// The admin key's holder (`metrics_require_admin_key`, the default).
    AdminKey,
    /// Anyone who reaches the API.
    Anyone,
    /// No one: `metrics_listen` serves it on an address of its own.
    Elsewhere,
}

impl AppState {
    /// Wraps the state.
    pub fn new(inner: StateInner) -> Self {
        Self(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = StateInner;
    fn deref(&self) -> &StateInner {
        &self.0
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hookrelay",
        description = "Self-hosted webhook delivery: durable, signed, retried. \
            Authenticate with `Authorization: Bearer <key>`. Errors are always \
            `{\"error\": {\"code\", \"message\", \"field\"?}}`.",
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The documented routes and their OpenAPI document, completed into the exact contract
/// ([`contract`]).
pub fn documented() -> (Router<AppState>, serde_json::Value) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(tenants::router())
        .merge(event_types::router())
        .merge(events::router())
        .merge(events_batch::router())
        .merge(webhooks::router())
        .merge(rotation::router())
        .merge(sends::router())
        .merge(stats::router())
        .merge(deliveries::router())
        .merge(dashboard_links::router())
        .routes(routes!(openapi_json))
        .split_for_parts();
    (router, contract::complete(&doc))
}

/// The document as served, serialized once.
#[derive(Clone)]
struct DocumentJson(bytes::Bytes);

/// The whole API, ready to serve.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let (router, doc) = documented();
    let doc = DocumentJson(serde_json::to_vec(&doc).unwrap_or_default().into());
    router
        .layer(Extension(doc))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(Extension(extract::BodyLimit(max_body_bytes)))
        .layer(axum::middleware::from_fn(access_log::record))
        .with_state(state)
}

/// What a worker node serves: `GET /healthz` only, for load balancers and orchestrators. The
/// rest of the API belongs to `api` nodes, so a worker can sit on a network clients never reach.
pub fn health_router(state: AppState) -> Router {
    let (router, _) = OpenApiRouter::new()
        .merge(health::router())
        .split_for_parts();
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn(access_log::record))
        .with_state(state)
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
async fn openapi_json(Extension(doc): Extension<DocumentJson>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], doc.0)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
