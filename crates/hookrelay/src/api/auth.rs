//! Authentication and tenant scoping as extractors, so no handler repeats an `if`.
//! [`Caller`] is who the key belongs to; [`Admin`] refuses tenant keys (403); [`Scope`] is the
//! tenant a request acts on: the key's own tenant, `default` for the admin key, or for the admin
//! key only, the `{tid}` of `/v1/tenants/{tid}/…`.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
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

/// The tenant a request acts on.
pub struct Scope(pub TenantId);

impl FromRequestParts<AppState> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let tid = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(name, _)| *name == "tid")
                    .map(|(_, value)| value.to_owned())
            });
        match (caller, tid) {
            (Caller::Admin, None) => Ok(Scope(TenantId::default_tenant())),
            (Caller::Tenant(t), None) => Ok(Scope(t)),
            (Caller::Tenant(_), Some(_)) => Err(ApiError::Forbidden("this needs the admin key")),
            (Caller::Admin, Some(tid)) => {
                let tenant = TenantId::from_trusted(tid);
                state
                    .store
                    .get_tenant(&tenant)
                    .await
                    .map_err(|e| ApiError::from_store(e, "tenant"))?;
                Ok(Scope(tenant))
            }
        }
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
