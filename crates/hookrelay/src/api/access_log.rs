//! The access log: one `info` line per request, written after the response, with the method, the
//! matched route (the template, `/v1/webhooks/{id}`, so ids in paths stay out and lines group by
//! route), the status, the latency and the tenant when the request named one. Never a header or
//! a body: keys and secrets travel there.
//!
//! The tenant is known only once an auth extractor has run, inside the handler, so this layer
//! puts an empty [`TenantSlot`] in the request's extensions and the extractors fill it in
//! ([`note_tenant`]). The admin's tenant routes (`/v1/tenants/{tid}…`) name it in the path
//! instead; it is logged when the request succeeded, so a stranger's path is never written.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use tracing::info;

use crate::ids::TenantId;

/// Where the auth extractors leave the tenant a request acts on.
#[derive(Clone, Default)]
pub struct TenantSlot(Arc<OnceLock<TenantId>>);

/// Records `tenant` as the one this request acts on (the first noted wins).
pub fn note_tenant(parts: &Parts, tenant: &TenantId) {
    if let Some(slot) = parts.extensions.get::<TenantSlot>() {
        let _ = slot.0.set(tenant.clone());
    }
}

/// The middleware (`axum::middleware::from_fn(access_log::record)`).
pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let (mut parts, body) = request.into_parts();
    let in_path = match &route {
        Some(route) if route.as_str().starts_with("/v1/tenants/{tid}") => {
            path_tenant(&mut parts).await
        }
        _ => None,
    };
    let slot = TenantSlot::default();
    parts.extensions.insert(slot.clone());
    let response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status();
    let tenant = slot
        .0
        .get()
        .or(in_path.as_ref().filter(|_| status.is_success()));
    info!(
        method = %method,
        // Unmatched paths are logged as such, not verbatim: a scanner's paths would flood the
        // routes and could carry anything.
        route = route.as_ref().map_or("unmatched", MatchedPath::as_str),
        status = status.as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        tenant.id = tenant.map(tracing::field::display),
        "request"
    );
    response
}

/// The `{tid}` of a tenant route's path.
async fn path_tenant(parts: &mut Parts) -> Option<TenantId> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params
        .iter()
        .find(|(name, _)| *name == "tid")
        .map(|(_, value)| TenantId::from_trusted(value))
}
