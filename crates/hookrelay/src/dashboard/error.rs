//! What a dashboard page fails with, as HTML: no session sends the browser to sign in, a
//! missing (or another tenant's) object is a 404 page, a refused form a 403, and a store
//! failure a plain 500 whose cause is logged (once, by the API's error type), never shown.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;

use crate::api::ApiError;
use crate::store;

/// A dashboard failure.
#[derive(Debug)]
pub enum DashError {
    /// No valid session: sign in first.
    SignIn,
    /// No such page or object, or not this session's.
    NotFound,
    /// The form's CSRF token or origin was wrong, or the session may not do this.
    Forbidden(&'static str),
    /// Anything else the API would answer with.
    Api(ApiError),
}

impl From<store::Error> for DashError {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::NotFound => Self::NotFound,
            other => Self::Api(ApiError::from_store(other, "object")),
        }
    }
}

impl From<ApiError> for DashError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound(_) => Self::NotFound,
            other => Self::Api(other),
        }
    }
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · hookrelay" }
                link rel="stylesheet" href=(super::assets::STYLESHEET.url());
            }
            body {
                main.narrow {
                    h1 { (title) }
                    p { (message) }
                    p { a href="/dashboard" { "Back to the dashboard" } }
                }
            }
        }
    };
    (status, Html(body.into_string())).into_response()
}

impl IntoResponse for DashError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn => Redirect::to("/dashboard/login").into_response(),
            Self::NotFound => page(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it is not yours to see.",
            ),
            Self::Forbidden(why) => page(StatusCode::FORBIDDEN, "Refused", why),
            Self::Api(e) => {
                let detail = e.detail();
                let status = e.into_response().status();
                page(status, "Something went wrong", &detail.message)
            }
        }
    }
}
