//! Tenants and their keys (admin only): `/v1/tenants[/{tid}]`, `/v1/tenants/{tid}/keys`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Admin;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::page::{ListResponse, TenantPage};
use super::{ApiError, AppState};
use crate::clock::{now_ms, rfc3339};
use crate::ids::{KeyId, TenantId};
use crate::keys;
use crate::store::Tenant;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant, update_tenant, delete_tenant))
        .routes(routes!(create_key))
}

/// A tenant.
#[derive(Serialize, ToSchema)]
pub struct TenantOut {
    /// Chosen by the operator.
    id: String,
    /// Display name.
    name: String,
    /// Where notices about this tenant's webhooks go.
    contact_email: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

impl From<Tenant> for TenantOut {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name,
            contact_email: t.contact_email,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

/// A new tenant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "acme", "name": "Acme Corp", "contact_email": "ops@acme.example"}))]
pub struct TenantIn {
    /// 1 to 64 letters, digits, `_` or `-`.
    id: String,
    /// Display name (defaults to the id).
    name: Option<String>,
    /// Contact email.
    contact_email: Option<String>,
}

/// Changes to a tenant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    /// Display name.
    name: Option<String>,
    /// Contact email; null removes it.
    #[serde(default, deserialize_with = "super::extract::double_option")]
    #[schema(value_type = Option<String>)]
    contact_email: Option<Option<String>>,
}

/// At most 200 characters with something besides spaces, tabs and line breaks (which are
/// trimmed); exactly the document's `NAME_TEXT` pattern and `maxLength`.
fn check_name(name: &str) -> Result<String, ApiError> {
    crate::model::check_text(name, "name")?;
    let trimmed = name.trim_matches([' ', '\t', '\n', '\r']);
    if trimmed.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            "name",
            "must be 1 to 200 characters, not only spaces",
        ));
    }
    Ok(trimmed.to_owned())
}

fn check_email(email: Option<String>) -> Result<Option<String>, ApiError> {
    if let Some(e) = &email {
        crate::model::check_text(e, "contact_email")?;
    }
    let bad = |e: &str| {
        e.chars().count() > 254 || !e.contains('@') || e.chars().any(|c| c <= ' ' || c == '\x7f')
    };
    match email {
        Some(e) if bad(&e) => Err(ApiError::invalid(
            "contact_email",
            "must be an email address such as ops@example.com",
        )),
        other => Ok(other),
    }
}

/// Lists tenants.
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", params(TenantPage),
    responses((status = 200, body = ListResponse<TenantOut>)))]
async fn list_tenants(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<TenantPage>,
) -> Result<Json<ListResponse<TenantOut>>, ApiError> {
    let paged = state
        .store
        .list_tenants(&q.page()?)
        .await
        .map_err(|e| ApiError::from_store(e, "tenant"))?;
    Ok(Json(ListResponse::from_paged(paged, TenantOut::from)))
}

/// Creates a tenant.
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = TenantIn,
    responses((status = 201, body = TenantOut), (status = 409, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn create_tenant(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<TenantIn>,
) -> Result<(StatusCode, Json<TenantOut>), ApiError> {
    let id = TenantId::parse(&input.id).map_err(|m| ApiError::invalid("id", m))?;
    let name = check_name(input.name.as_deref().unwrap_or(id.as_str()))?;
    let now = now_ms();
    let tenant = Tenant {
        id,
        name,
        contact_email: check_email(input.contact_email)?,
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .create_tenant(&tenant)
        .await
        .map_err(|e| ApiError::from_store(e, "tenant"))?;
    Ok((StatusCode::CREATED, Json(tenant.into())))
}

/// Reads a tenant.
#[utoipa::path(get, path = "/v1/tenants/{tid}", tag = "tenants",
    params(("tid" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantOut), (status = 404, body = super::error::ErrorBody)))]
async fn get_tenant(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tid): ApiPath<String>,
) -> Result<Json<TenantOut>, ApiError> {
    let tenant = state
        .store
        .get_tenant(&TenantId::from_trusted(tid))
        .await
        .map_err(|e| ApiError::from_store(e, "tenant"))?;
    Ok(Json(tenant.into()))
}

/// Changes a tenant's name or contact email.
#[utoipa::path(patch, path = "/v1/tenants/{tid}", tag = "tenants", request_body = TenantPatch,
    params(("tid" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantOut), (status = 404, body = super::error::ErrorBody)))]
async fn update_tenant(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tid): ApiPath<String>,
    ApiJson(patch): ApiJson<TenantPatch>,
) -> Result<Json<TenantOut>, ApiError> {
    let store = &state.store;
    let mut tenant = store
        .get_tenant(&TenantId::from_trusted(tid))
        .await
        .map_err(|e| ApiError::from_store(e, "tenant"))?;
    if let Some(name) = patch.name {
        tenant.name = check_name(&name)?;
    }
    if let Some(email) = patch.contact_email {
        tenant.contact_email = check_email(email)?;
    }
    tenant.updated_at = now_ms();
    store
        .update_tenant(&tenant)
        .await
        .map_err(|e| ApiError::from_store(e, "tenant"))?;
    Ok(Json(tenant.into()))
}

/// Deletes a tenant with its webhooks, keys and deliveries. `default` cannot be deleted.
#[utoipa::path(delete, path = "/v1/tenants/{tid}", tag = "tenants",
    params(("tid" = String, Path, description = "Tenant id")),
    responses((status = 204), (status = 404, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody)))]
async fn delete_tenant(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tid): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let tid = TenantId::from_trusted(tid);
    if tid == TenantId::default_tenant() {
        return Err(ApiError::Conflict(
            "the default tenant always exists".into(),
        ));
    }
    state
        .store
        .delete_tenant(&tid)
        .await
        .map_err(|e| ApiError::from_store(e, "tenant"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A freshly minted key: shown this once, stored only as a hash.
#[derive(Serialize, ToSchema)]
pub struct KeyOut {
    /// Key id.
    id: String,
    /// The tenant it acts for.
    tenant_id: String,
    /// The key. It cannot be shown again.
    key: String,
    /// RFC 3339.
    created_at: String,
}

/// Mints a key for one tenant.
#[utoipa::path(post, path = "/v1/tenants/{tid}/keys", tag = "tenants",
    params(("tid" = String, Path, description = "Tenant id")),
    responses((status = 201, body = KeyOut), (status = 404, body = super::error::ErrorBody)))]
async fn create_key(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tid): ApiPath<String>,
) -> Result<(StatusCode, Json<KeyOut>), ApiError> {
    let tenant = TenantId::from_trusted(tid);
    let key = keys::generate(keys::TENANT_PREFIX);
    let id = KeyId::generate();
    let now = now_ms();
    state
        .store
        .create_tenant_key(&tenant, &id, &keys::hash(&key), &key[..8], now)
        .await
        .map_err(|e| ApiError::from_store(e, "tenant"))?;
    Ok((
        StatusCode::CREATED,
        Json(KeyOut {
            id: id.to_string(),
            tenant_id: tenant.to_string(),
            key,
            created_at: rfc3339(now),
        }),
    ))
}
