//! Security headers on every dashboard response: a strict Content-Security-Policy (scripts and
//! styles from this origin only, no inline script, framing only by `dashboard_frame_ancestors`),
//! no MIME sniffing, no referrer to other sites (a sign-in link's token must not leak; `no-referrer` would also make browsers send `Origin: null`, which the CSRF check refuses), and no
//! caching of pages (they show private data); assets set their own caching.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::middleware::Next;
use axum::response::Response;

use super::DashState;

pub async fn secure(State(state): State<DashState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let ancestors = &state.settings.frame_ancestors;
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    // Older browsers know only X-Frame-Options; it can say "never" but not "these origins".
    if ancestors.trim() == "'none'" {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
