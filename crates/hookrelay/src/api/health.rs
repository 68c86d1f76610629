//! Liveness: `GET /healthz` answers 200 when the database answers.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}

/// Health.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    status: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
}

/// Whether the server and its database are up.
#[utoipa::path(get, path = "/healthz", tag = "meta", security(()),
    responses((status = 200, body = Health),
        (status = 503, description = "The database does not answer", body = super::error::ErrorBody)))]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state
        .store
        .next_due_at()
        .await
        .map_err(|e| ApiError::from_store(e, "health"))?;
    Ok(Json(Health {
        status: "ok",
        database: state.store.backend(),
    }))
}
