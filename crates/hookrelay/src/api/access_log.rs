//! The access log: one `info` line per request, written after the response, with the method, the
//! matched route (the template, `/v1/webhooks/{id}`, so ids in paths stay out and lines group by
//! route), the status, the latency and the tenant when the request named one. Never a header or
//! a body: keys and secrets travel there.
//!
//! The tenant is known only once an auth extractor has run, inside the handler, so this layer
//! puts an empty [`TenantSlot`] in the request's extensions and the extractors fill it in
//! ([`note_tenant`]).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
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
pub async fn record(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // Unmatched paths are logged as such, not verbatim: a scanner's paths would flood the
    // routes and could carry anything.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let slot = TenantSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    let tenant = slot.0.get();
    info!(
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        tenant.id = tenant.map(tracing::field::display),
        "request"
    );
    response
}
