//! Probes and metrics. `GET /healthz`: the process is up (liveness, no I/O). `GET /readyz`: the
//! database answers and its migrations are this build's (readiness; 503 otherwise).
//! `GET /metrics`: Prometheus text, with the admin key unless `metrics_require_admin_key` is
//! false; when `metrics_listen` is set, it is served there without auth ([`metrics_router`])
//! and not here. `crate::measure` lists the metrics.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use tracing::warn;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Admin;
use super::{ApiError, AppState, MetricsAccess};
use crate::measure::Exporter;
use crate::store::NotReady;

/// The Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// `/metrics` alone, without auth, for the `metrics_listen` address.
pub fn metrics_router(exporter: Arc<Exporter>) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(exporter): State<Arc<Exporter>>| async move {
                prometheus_text(&exporter).await
            }),
        )
        .with_state(exporter)
}

/// Health.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    status: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
}

/// Whether the process is up. Touches nothing else, so a slow database does not get a live
/// node restarted.
#[utoipa::path(get, path = "/healthz", tag = "meta", security(()),
    responses((status = 200, body = Health)))]
async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        database: state.store.backend(),
    })
}

/// Whether this node can serve: the database answers and its migrations are current.
#[utoipa::path(get, path = "/readyz", tag = "meta", security(()),
    responses((status = 200, body = Health),
        (status = 503, description = "The database does not answer, or its migrations are not this build's",
            body = super::error::ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.store.ready().await {
        Ok(()) => Ok(Json(Health {
            status: "ok",
            database: state.store.backend(),
        })),
        Err(e) => {
            // The cause may name hosts or SQL: it goes to the log, the client gets the gist.
            let cause = match &e {
                NotReady::Unreachable(source) => format!("{e}: {source:?}"),
                NotReady::Migrations(_) => e.to_string(),
            };
            warn!(error = %cause, "not ready");
            Err(ApiError::NotReady(e.to_string()))
        }
    }
}

/// Every metric in the Prometheus text format: with the admin key unless
/// `metrics_require_admin_key` is false; not served here when `metrics_listen` is set.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain"),
        (status = 401, body = super::error::ErrorBody),
        (status = 404, description = "Served on `metrics_listen` instead", body = super::error::ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    admin: Result<Admin, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    match state.metrics_access {
        MetricsAccess::Elsewhere => return Err(ApiError::NotFound("route")),
        MetricsAccess::AdminKey => {
            admin?;
        }
        MetricsAccess::Anyone => {}
    }
    Ok(prometheus_text(&state.exporter).await)
}

async fn prometheus_text(exporter: &Exporter) -> impl IntoResponse + use<> {
    ([(CONTENT_TYPE, PROMETHEUS_TEXT)], exporter.render().await)
}
