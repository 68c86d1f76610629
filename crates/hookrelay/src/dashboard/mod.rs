//! The web dashboard, served by hookrelay itself at `/dashboard` (`/` redirects there): the
//! operator signs in with the admin key, a tenant through a one-time link
//! (`api/dashboard_links.rs`). Every page is rendered on the server and every asset is
//! embedded in the binary, so it works offline, behind any proxy, with no build step.
//!
//! Why server-rendered HTML with `maud`: templates are Rust checked at compile time, every
//! interpolated value is HTML-escaped unless it is explicitly marked pre-escaped (and nothing
//! here is), and a page is one request whose handler makes the same store calls the API makes.
//! That makes escaping hostile data (response bodies, URLs, headers) the default rather than a
//! discipline, and the strict Content-Security-Policy (no inline script at all) a backstop.
//!
//! Invariants: a tenant session reaches only its own tenant (every page goes through
//! [`session::TenantView`] and the store's tenant-scoped queries, 404 otherwise); every POST
//! carries the session's CSRF token and comes from this origin ([`csrf::Form`]); no secret is
//! written into a page except on an explicit reveal or rotation.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::api::AppState;

mod assets;
mod csrf;
mod error;
mod headers;
mod layout;
mod pages;
mod session;

/// What the dashboard needs beyond the API's state.
pub struct Settings {
    /// A session idle this long is signed out.
    pub session_idle: Duration,
    /// The CSP `frame-ancestors` sources.
    pub frame_ancestors: String,
    /// Whether `public_url` is https (cookies are then always Secure).
    pub public_https: bool,
}

/// The dashboard's handlers' state.
#[derive(Clone)]
pub struct DashState {
    /// The API's state: the store, and the handlers the dashboard's actions reuse.
    pub app: AppState,
    /// The dashboard's own settings.
    pub settings: Arc<Settings>,
}

/// The dashboard's routes, with their security headers.
pub fn router(app: AppState, settings: Settings) -> Router {
    let state = DashState {
        app,
        settings: Arc::new(settings),
    };
    let pages = Router::new()
        .route("/dashboard", get(pages::home))
        .route(
            "/dashboard/login",
            get(pages::login::show).post(pages::login::admin_sign_in),
        )
        .route("/dashboard/logout", post(pages::login::sign_out))
        .route(
            "/dashboard/tenants",
            get(pages::tenants::list).post(pages::tenants::create),
        )
        .route("/dashboard/system", get(pages::system::show))
        .route(
            "/dashboard/event-types",
            get(pages::catalog::list).post(pages::catalog::create),
        )
        .route(
            "/dashboard/event-types/{name}",
            get(pages::catalog::show).post(pages::catalog::save),
        )
        .route(
            "/dashboard/tenants/{tid}/link",
            post(pages::tenants::mint_link),
        )
        .route(
            "/dashboard/t/{tid}/webhooks",
            get(pages::webhooks::list).post(pages::webhooks::create),
        )
        .route(
            "/dashboard/t/{tid}/webhooks/new",
            get(pages::webhooks::new_form),
        )
        .route(
            "/dashboard/t/{tid}/webhooks/{id}",
            get(pages::webhook::show),
        )
        .route(
            "/dashboard/t/{tid}/webhooks/{id}/edit",
            get(pages::webhook_edit::show).post(pages::webhook_edit::save),
        )
        .route(
            "/dashboard/t/{tid}/webhooks/{id}/receiving",
            get(pages::receiving::show),
        )
        .route(
            "/dashboard/t/{tid}/webhooks/{id}/test",
            post(pages::test_send::send),
        )
        .route(
            "/dashboard/t/{tid}/webhooks/{id}/replay",
            post(pages::log::replay),
        )
        .route(
            "/dashboard/t/{tid}/webhooks/{id}/active",
            post(pages::webhook::set_active),
        )
        .route(
            "/dashboard/t/{tid}/webhooks/{id}/rotate-secret",
            post(pages::webhook::rotate_secret),
        )
        .route(
            "/dashboard/t/{tid}/deliveries/{id}",
            get(pages::delivery::show),
        )
        .route(
            "/dashboard/t/{tid}/deliveries/{id}/retry",
            post(pages::delivery::retry),
        )
        .route("/dashboard/assets/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::secure,
        ))
        .with_state(state);
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .merge(pages)
}
