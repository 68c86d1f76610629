//! Webhooks: `/v1/webhooks[/{id}]` for the caller's tenant (the admin key: `default`), and the
//! same under `/v1/tenants/{tid}/webhooks` for the admin key. Each operation is a pair of
//! handlers, one per scope ([`CallerTenant`], [`PathTenant`]), over one body.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use tracing::warn;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{CallerTenant, PathTenant, Scope};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::page::{ListResponse, WebhookPage};
use super::webhook_json::{WebhookIn, WebhookOut, WebhookPatch, apply_patch, parse_new};
use super::{ApiError, AppState};
use crate::ids::WebhookId;
use crate::store::Webhook;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_tenant_webhooks, create_tenant_webhook))
        .routes(routes!(
            get_tenant_webhook,
            update_tenant_webhook,
            delete_tenant_webhook
        ))
}

fn store_err(e: crate::store::Error) -> ApiError {
    ApiError::from_store(e, "webhook")
}

/// The scope's webhook `id`, or a 404: every handler under `/v1/webhooks/{id}/…` starts here.
pub(super) async fn find_webhook(
    state: &AppState,
    scope: &Scope,
    id: &WebhookId,
) -> Result<Webhook, ApiError> {
    state
        .store
        .get_webhook(&scope.0, id)
        .await
        .map_err(store_err)
}

/// A 409 for a disabled webhook: nothing is sent to it until it is enabled again, so queueing
/// its deliveries again (retry, replay) would only hold them.
pub(super) fn ensure_enabled(webhook: &Webhook) -> Result<(), ApiError> {
    if webhook.active {
        return Ok(());
    }
    Err(ApiError::Conflict(format!(
        "webhook {} is disabled ({}): enable it first by patching it with {{\"active\": true}}",
        webhook.id,
        webhook.disabled_reason.as_deref().unwrap_or("manual"),
    )))
}

/// Lists the tenant's webhooks.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(WebhookPage),
    responses((status = 200, body = ListResponse<WebhookOut>)))]
async fn list_webhooks(
    CallerTenant(scope): CallerTenant,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<WebhookPage>,
) -> Result<Json<ListResponse<WebhookOut>>, ApiError> {
    list(&state, &scope, &q).await
}

/// Lists a tenant's webhooks (admin).
#[utoipa::path(get, path = "/v1/tenants/{tid}/webhooks", tag = "webhooks",
    params(("tid" = String, Path, description = "Tenant id"), WebhookPage),
    responses((status = 200, body = ListResponse<WebhookOut>)))]
async fn list_tenant_webhooks(
    PathTenant(scope): PathTenant,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<WebhookPage>,
) -> Result<Json<ListResponse<WebhookOut>>, ApiError> {
    list(&state, &scope, &q).await
}

async fn list(
    state: &AppState,
    scope: &Scope,
    q: &WebhookPage,
) -> Result<Json<ListResponse<WebhookOut>>, ApiError> {
    let paged = state
        .store
        .list_webhooks(&scope.0, &q.page()?)
        .await
        .map_err(store_err)?;
    Ok(Json(ListResponse::from_paged(paged, WebhookOut::from)))
}

/// Creates a webhook.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = WebhookIn,
    responses((status = 201, body = WebhookOut), (status = 422, body = super::error::ErrorBody)))]
async fn create_webhook(
    CallerTenant(scope): CallerTenant,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<WebhookIn>,
) -> Result<(StatusCode, Json<WebhookOut>), ApiError> {
    create(&state, &scope, input).await
}

/// Creates a webhook for a tenant (admin).
#[utoipa::path(post, path = "/v1/tenants/{tid}/webhooks", tag = "webhooks", request_body = WebhookIn,
    params(("tid" = String, Path, description = "Tenant id")),
    responses((status = 201, body = WebhookOut), (status = 422, body = super::error::ErrorBody)))]
async fn create_tenant_webhook(
    PathTenant(scope): PathTenant,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<WebhookIn>,
) -> Result<(StatusCode, Json<WebhookOut>), ApiError> {
    create(&state, &scope, input).await
}

async fn create(
    state: &AppState,
    scope: &Scope,
    input: WebhookIn,
) -> Result<(StatusCode, Json<WebhookOut>), ApiError> {
    let webhook = create_in(state, scope, input).await?;
    Ok((StatusCode::CREATED, Json(webhook.into())))
}

/// Parses and stores a new webhook of the scope (the API's and the dashboard's create).
pub(crate) async fn create_in(
    state: &AppState,
    scope: &Scope,
    input: WebhookIn,
) -> Result<Webhook, ApiError> {
    let webhook = parse_new(input, &scope.0, state.url_policy)?;
    state
        .store
        .create_webhook(&webhook)
        .await
        .map_err(store_err)?;
    Ok(webhook)
}

/// Reads a webhook.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 404, body = super::error::ErrorBody)))]
async fn get_webhook(
    CallerTenant(scope): CallerTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WebhookOut>, ApiError> {
    let webhook = find_webhook(&state, &scope, &WebhookId::from_trusted(id)).await?;
    Ok(Json(webhook.into()))
}

/// Reads a tenant's webhook (admin).
#[utoipa::path(get, path = "/v1/tenants/{tid}/webhooks/{id}", tag = "webhooks",
    params(("tid" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 404, body = super::error::ErrorBody)))]
async fn get_tenant_webhook(
    PathTenant(scope): PathTenant,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<WebhookOut>, ApiError> {
    let webhook = find_webhook(&state, &scope, &WebhookId::from_trusted(path.1)).await?;
    Ok(Json(webhook.into()))
}

/// Changes a webhook.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", request_body = WebhookPatch,
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 404, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn update_webhook(
    CallerTenant(scope): CallerTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> Result<Json<WebhookOut>, ApiError> {
    update(&state, &scope, WebhookId::from_trusted(id), patch).await
}

/// Changes a tenant's webhook (admin).
#[utoipa::path(patch, path = "/v1/tenants/{tid}/webhooks/{id}", tag = "webhooks", request_body = WebhookPatch,
    params(("tid" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 404, body = super::error::ErrorBody)))]
async fn update_tenant_webhook(
    PathTenant(scope): PathTenant,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<(String, String)>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> Result<Json<WebhookOut>, ApiError> {
    update(&state, &scope, WebhookId::from_trusted(path.1), patch).await
}

async fn update(
    state: &AppState,
    scope: &Scope,
    id: WebhookId,
    patch: WebhookPatch,
) -> Result<Json<WebhookOut>, ApiError> {
    Ok(Json(update_in(state, scope, id, patch).await?.into()))
}

/// Applies a patch to a webhook of the scope; enabling wakes the worker and tells the
/// operator (the API's and the dashboard's update).
pub(crate) async fn update_in(
    state: &AppState,
    scope: &Scope,
    id: WebhookId,
    patch: WebhookPatch,
) -> Result<Webhook, ApiError> {
    let mut webhook = find_webhook(state, scope, &id).await?;
    let was_active = webhook.active;
    apply_patch(&mut webhook, patch, state.url_policy)?;
    webhook.updated_at = state
        .store
        .update_webhook(&webhook)
        .await
        .map_err(store_err)?;
    if webhook.active && !was_active {
        // Its held deliveries are due now.
        state.wake.notify_one();
        if let Some(operations) = &state.operations
            && let Err(e) =
                crate::operations::announce_enabled(&*state.store, operations, &webhook).await
        {
            // The webhook is enabled either way; only the operator's notice is missing.
            warn!(webhook.id = %webhook.id, error = %e, "publishing webhook.enabled failed");
        }
    }
    Ok(webhook)
}

/// Deletes a webhook and its delivery log.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
async fn delete_webhook(
    CallerTenant(scope): CallerTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    delete(&state, &scope, WebhookId::from_trusted(id)).await
}

/// Deletes a tenant's webhook (admin).
#[utoipa::path(delete, path = "/v1/tenants/{tid}/webhooks/{id}", tag = "webhooks",
    params(("tid" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Webhook id")),
    responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
async fn delete_tenant_webhook(
    PathTenant(scope): PathTenant,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete(&state, &scope, WebhookId::from_trusted(path.1)).await
}

async fn delete(state: &AppState, scope: &Scope, id: WebhookId) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_webhook(&scope.0, &id)
        .await
        .map_err(store_err)?;
    Ok(StatusCode::NO_CONTENT)
}
