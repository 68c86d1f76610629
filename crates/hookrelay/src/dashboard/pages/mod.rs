//! The dashboard's pages, one file per screen. Each handler extracts who is asking
//! (`Viewer`, `TenantView`, or a CSRF-checked `Form`), makes the store or API calls the API
//! makes for the same thing, and renders with `maud`.

use axum::response::{IntoResponse, Redirect, Response};

use super::error::DashError;
use super::session::Viewer;

pub mod catalog;
mod chart;
pub mod delivery;
mod event_picker;
pub mod log;
pub mod login;
pub mod receiving;
mod sparkline;
pub mod system;
pub mod tenants;
pub mod test_send;
pub mod webhook;
pub mod webhook_edit;
pub mod webhooks;
mod wire_format;

/// `/dashboard`: the operator's tenants, or the tenant's webhooks.
pub async fn home(viewer: Viewer) -> Result<Response, DashError> {
    Ok(match &viewer.session.tenant {
        None => Redirect::to("/dashboard/tenants").into_response(),
        Some(t) => Redirect::to(&format!("/dashboard/t/{t}/webhooks")).into_response(),
    })
}

/// Where a form goes after it worked: back to a page (303, so reloading does not post again).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}
