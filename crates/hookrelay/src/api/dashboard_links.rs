//! One-time dashboard sign-in links for tenants: `POST /v1/tenants/{tid}/dashboard-link` (the
//! operator, e.g. behind a "Manage webhooks" button in their own product) and
//! `POST /v1/dashboard-link` (a tenant key, for the tenant's own backend). A link carries a
//! 256-bit token, is stored as its SHA-256 hash, expires after [`LINK_TTL_MS`] and opens one
//! session: the dashboard deletes it as it signs in.

use axum::Json;
use axum::extract::State;
use axum::http::header::HOST;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{CallerTenant, PathTenant};
use super::{ApiError, AppState};
use crate::clock::{now_ms, rfc3339};
use crate::ids::TenantId;
use crate::keys;

/// How long a link may wait before it is used.
pub const LINK_TTL_MS: i64 = 15 * 60 * 1000;
/// Prefix of link tokens, so one found in a log is recognisable.
const LINK_PREFIX: &str = "hrl_";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_link))
        .routes(routes!(create_tenant_link))
}

/// A minted sign-in link.
#[derive(Serialize, ToSchema)]
pub struct LinkOut {
    /// Open it in a browser to sign in to the dashboard as the tenant. Single use.
    pub url: String,
    /// RFC 3339; the link is refused after this.
    pub expires_at: String,
}

/// Mints a dashboard sign-in link for the key's own tenant.
#[utoipa::path(post, path = "/v1/dashboard-link", tag = "dashboard",
    responses((status = 201, body = LinkOut), (status = 401, body = super::error::ErrorBody)))]
async fn create_link(
    CallerTenant(scope): CallerTenant,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<LinkOut>), ApiError> {
    let link = mint(&state, &scope.0, &base_url(&state, &headers)).await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// Mints a dashboard sign-in link for a tenant (admin).
#[utoipa::path(post, path = "/v1/tenants/{tid}/dashboard-link", tag = "dashboard",
    params(("tid" = String, Path, description = "Tenant id")),
    responses((status = 201, body = LinkOut), (status = 404, body = super::error::ErrorBody)))]
async fn create_tenant_link(
    PathTenant(scope): PathTenant,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<LinkOut>), ApiError> {
    let link = mint(&state, &scope.0, &base_url(&state, &headers)).await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// Stores a new link for `tenant` and answers it, under `base` (scheme and host).
pub(crate) async fn mint(
    state: &AppState,
    tenant: &TenantId,
    base: &str,
) -> Result<LinkOut, ApiError> {
    let token = keys::generate(LINK_PREFIX);
    let now = now_ms();
    let expires_at = now + LINK_TTL_MS;
    state
        .store
        .create_dashboard_link(&keys::hash(&token), tenant, expires_at, now)
        .await
        .map_err(|e| ApiError::from_store(e, "tenant"))?;
    Ok(LinkOut {
        url: format!("{base}/dashboard/login?token={token}"),
        expires_at: rfc3339(expires_at),
    })
}

/// Where people reach this server: `public_url`, else the request's scheme and host.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        // Only what a host and port can be: the value goes into a URL we hand out.
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = if came_over_https(headers) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// Whether a proxy in front said the request came over HTTPS (hookrelay itself serves plain
/// HTTP).
pub(crate) fn came_over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}
