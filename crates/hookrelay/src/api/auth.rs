//! Authentication and tenant scoping as extractors, so no handler repeats an `if`.
//! [`Caller`] is who the key belongs to; [`Admin`] refuses tenant keys (403). A handler that
//! acts on one tenant's objects says in its signature where that tenant comes from, and gets a
//! [`Scope`] either way: [`CallerTenant`] on `/v1/webhooks/…` (the key's own tenant, `default`
//! for the admin key), [`PathTenant`] on `/v1/tenants/{tid}/…` (the admin key only, the tenant
//! named in the path). [`Visibility`] is for objects looked up by their id alone.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::ApiPath;
use crate::ids::TenantId;
use crate::keys;
use crate::store::KeyOwner;

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The operator.
    Admin,
    /// A tenant's key.
    Tenant(TenantId),
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let key = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let hash = keys::hash(key);
        let caller = if keys::hashes_equal(&hash, &state.admin_key_hash) {
            Caller::Admin
        } else {
            match state.store.find_key(&hash).await {
                Ok(Some(KeyOwner::Tenant(t))) => Caller::Tenant(t),
                // A stored admin hash that is no longer the configured one is not honoured.
                Ok(Some(KeyOwner::Admin) | None) => return Err(ApiError::Unauthorized),
                Err(e) => return Err(ApiError::from_store(e, "key")),
            }
        };
        if let Caller::Tenant(tenant) = &caller {
            super::access_log::note_tenant(parts, tenant);
        }
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// The caller holds the admin key.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Admin => Ok(Admin),
            Caller::Tenant(_) => Err(ApiError::Forbidden("this needs the admin key")),
        }
    }
}

/// The tenant a request acts on, from [`CallerTenant`] or [`PathTenant`].
pub struct Scope(pub TenantId);

/// The caller's own tenant: a tenant key's, or `default` for the admin key. For the routes a
/// tenant key uses, `/v1/webhooks/…`.
pub struct CallerTenant(pub Scope);

impl FromRequestParts<AppState> for CallerTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let tenant = match Caller::from_request_parts(parts, state).await? {
            Caller::Admin => TenantId::default_tenant(),
            Caller::Tenant(t) => t,
        };
        super::access_log::note_tenant(parts, &tenant);
        Ok(CallerTenant(Scope(tenant)))
    }
}

/// The tenant named by the path of an admin route, `/v1/tenants/{tid}/…`: the admin key only
/// (a tenant key gets 403, even for its own tenant), and the tenant must exist (else 404).
pub struct PathTenant(pub Scope);

/// The `{tid}` of an admin route's path; its other segments (a webhook's `{id}`) are the
/// handler's own to read.
#[derive(Deserialize)]
struct TenantSegment {
    tid: String,
}

impl FromRequestParts<AppState> for PathTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Admin::from_request_parts(parts, state).await?;
        let ApiPath(TenantSegment { tid }) = ApiPath::from_request_parts(parts, state).await?;
        let tenant = TenantId::from_trusted(tid);
        state
            .store
            .get_tenant(&tenant)
            .await
            .map_err(|e| ApiError::from_store(e, "tenant"))?;
        super::access_log::note_tenant(parts, &tenant);
        Ok(PathTenant(Scope(tenant)))
    }
}

/// The tenant whose objects a request may see by id: the key's tenant, or any for the admin.
pub struct Visibility(pub Option<TenantId>);

impl FromRequestParts<AppState> for Visibility {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(match Caller::from_request_parts(parts, state).await? {
            Caller::Admin => Visibility(None),
            Caller::Tenant(t) => Visibility(Some(t)),
        })
    }
}
