//! Signing in and out. The operator posts the admin key in a form (never in a URL, so it stays
//! out of logs and history); a tenant opens a one-time link, which is spent as the session
//! starts and then redirected away from, so the token does not stay in the address bar.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use crate::api::dashboard_links::came_over_https;
use crate::clock::now_ms;
use crate::dashboard::DashState;
use crate::dashboard::csrf::{Form, SignInForm};
use crate::dashboard::error::DashError;
use crate::dashboard::layout::bare;
use crate::dashboard::session::{self, cookie};
use crate::keys;

/// `?token=` of a sign-in link.
#[derive(Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

fn form(error: Option<&str>) -> Response {
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let body = bare(
        "Sign in",
        html! {
            h1 { "Sign in to hookrelay" }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.card method="post" action="/dashboard/login" {
                label for="admin_key" { "Admin key" }
                input #admin_key type="password" name="admin_key" autocomplete="current-password" required;
                p.hint { "Operators sign in with the admin key. Tenants open the sign-in link their operator gives them." }
                button type="submit" { "Sign in" }
            }
        },
    );
    (status, Html(body.into_string())).into_response()
}

/// Signs in and goes to the dashboard's home.
fn signed_in(state: &DashState, headers: &HeaderMap, token: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (
                SET_COOKIE,
                cookie(state, came_over_https(headers), Some(token)),
            ),
            (LOCATION, "/dashboard".to_owned()),
        ],
    )
        .into_response()
}

/// The sign-in form, or a tenant's link being redeemed.
pub async fn show(
    State(state): State<DashState>,
    headers: HeaderMap,
    Query(q): Query<LinkQuery>,
) -> Result<Response, DashError> {
    let Some(token) = q.token else {
        return Ok(form(None));
    };
    let tenant = state
        .app
        .store
        .redeem_dashboard_link(&keys::hash(&token), now_ms())
        .await?;
    let Some(tenant) = tenant else {
        return Ok(form(Some(
            "This sign-in link has expired or was used already. Ask for a new one.",
        )));
    };
    let session = session::start(&state, Some(&tenant)).await?;
    Ok(signed_in(&state, &headers, &session))
}

/// The operator's sign-in with the admin key.
pub async fn admin_sign_in(
    State(state): State<DashState>,
    headers: HeaderMap,
    SignInForm(fields): SignInForm,
) -> Result<Response, DashError> {
    let key = fields.get("admin_key").unwrap_or("").trim();
    if key.is_empty() || !keys::hashes_equal(&keys::hash(key), &state.app.admin_key_hash) {
        return Ok(form(Some("That is not the admin key.")));
    }
    let session = session::start(&state, None).await?;
    Ok(signed_in(&state, &headers, &session))
}

/// Ends the session.
pub async fn sign_out(
    State(state): State<DashState>,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, DashError> {
    state
        .app
        .store
        .delete_dashboard_session(&form.viewer.hash)
        .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (SET_COOKIE, cookie(&state, came_over_https(&headers), None)),
            (LOCATION, "/dashboard/login".to_owned()),
        ],
    )
        .into_response())
}
