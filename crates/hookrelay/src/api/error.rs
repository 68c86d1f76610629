//! `ApiError`: every failure a handler can answer with, one status and one code per variant,
//! always as `{"error": {"code", "message", "field"?}}`. Internal errors are logged here, once,
//! with their cause chain, and answered with a plain 500 that reveals nothing.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::Invalid;
use crate::store;

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (e.g. not JSON).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no key, or an unknown key.
    #[error("a valid API key is required: send `Authorization: Bearer <key>`")]
    Unauthorized,
    /// 403: the key may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 404: no such object (or it belongs to another tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: conflicts with an existing object.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is over the size limit.
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// 422: a field is invalid.
    #[error("{}", .0.message)]
    Validation(Invalid),
    /// 503: this node cannot serve yet (`/readyz`): the database is gone or not migrated.
    #[error("{0}")]
    NotReady(String),
    /// 500: a bug; details go to the log, not the client.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
    /// 503: the database cannot be reached now. Sending the request again is safe: an event
    /// whose write was cut off uncertainly is stored once under its id.
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable,
}

impl ApiError {
    /// A 422 for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(Invalid::new(field, message))
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Self::NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }

    /// Maps a store error, naming the kind of object for a 404 or 409.
    pub fn from_store(e: store::Error, what: &'static str) -> Self {
        match e {
            store::Error::NotFound => Self::NotFound(what),
            store::Error::Conflict => Self::Conflict(format!("{what} already exists")),
            store::Error::Backend(e) => Self::Internal(anyhow::Error::new(e)),
            store::Error::Unavailable(e) => {
                // Logged here, as `Internal` is: the store does not log what it returns.
                tracing::warn!(error = %e, "database unavailable; answering 503");
                Self::Unavailable
            }
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        Self::Validation(e)
    }
}

/// The error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `validation_failed`, `not_found`, `unauthorized`, …
    pub code: &'static str,
    /// For a person.
    pub message: String,
    /// The offending field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// The `error` object of the body.
    pub fn detail(&self) -> ErrorDetail {
        let field = match self {
            Self::Validation(invalid) => Some(invalid.field.clone()),
            _ => None,
        };
        ErrorDetail {
            code: self.status_and_code().1,
            message: self.to_string(),
            field,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        if let Self::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        (
            status,
            Json(ErrorBody {
                error: self.detail(),
            }),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: ApiError) -> (StatusCode, String) {
        let response = e.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
    }

    #[tokio::test]
    async fn an_unreachable_database_is_a_503_and_a_failing_query_a_500() {
        let (status, body) = body_of(ApiError::from_store(
            store::Error::from(sqlx::Error::PoolTimedOut),
            "x",
        ))
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains(r#""code":"unavailable""#), "{body}");
        let (status, _) = body_of(ApiError::from_store(
            store::Error::Backend(sqlx::Error::RowNotFound),
            "x",
        ))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn error_bodies_have_the_documented_shape() {
        assert_eq!(
            body_of(ApiError::invalid("url", "must use https")).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"{"error":{"code":"validation_failed","message":"must use https","field":"url"}}"#
                    .to_owned()
            )
        );
        assert_eq!(
            body_of(ApiError::NotFound("webhook")).await,
            (
                StatusCode::NOT_FOUND,
                r#"{"error":{"code":"not_found","message":"webhook not found"}}"#.to_owned()
            )
        );
        assert_eq!(
            body_of(ApiError::from_store(
                store::Error::Unavailable(sqlx::Error::PoolTimedOut),
                "event"
            ))
            .await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"error":{"code":"unavailable","message":"the service is temporarily unavailable; try again shortly"}}"#
                    .to_owned()
            )
        );
        assert_eq!(
            body_of(ApiError::Internal(anyhow::anyhow!("secret detail"))).await,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"error":{"code":"internal","message":"internal error"}}"#.to_owned()
            )
        );
    }
}
