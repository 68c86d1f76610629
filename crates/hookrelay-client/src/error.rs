//! [`Error`]: everything a call can fail with. An answer hookrelay gave is [`Error::Api`], with
//! its status and the API's error JSON (`{"error": {"code", "message", "field"?}}`) as the
//! document's `ErrorDetail`; no key ever appears in an error.

use std::fmt;

use reqwest::StatusCode;

use crate::models::ErrorDetail;

/// Why a call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// hookrelay answered with an error status and its error JSON.
    Api {
        /// The HTTP status (4xx, or 503 when hookrelay cannot reach its database).
        status: StatusCode,
        /// `code` (stable: `validation_failed`, `not_found`, `conflict`, …), `message`, and
        /// the offending `field` of a 422.
        detail: ErrorDetail,
    },
    /// An error status whose body is not hookrelay's error JSON (a proxy's page, say).
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body, as text.
        body: String,
    },
    /// A success whose body is not what the document says it is.
    Decode {
        /// The HTTP status.
        status: StatusCode,
        /// What did not match.
        source: serde_json::Error,
    },
    /// The request could not be sent, or its answer not read: connection, TLS, timeout.
    Transport(reqwest::Error),
    /// The client's settings are unusable (a base URL that is not `http(s)`, a key that
    /// cannot be a header): says which.
    Config(String),
    /// A request body could not be written as JSON.
    Encode(serde_json::Error),
}

impl Error {
    /// The HTTP status of an answer hookrelay (or something in front of it) gave.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::Status { status, .. } => Some(*status),
            Error::Decode { status, .. } => Some(*status),
            Error::Transport(e) => e.status(),
            Error::Config(_) | Error::Encode(_) => None,
        }
    }

    /// The API's error `code`, when hookrelay answered with its error JSON.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { detail, .. } => Some(&detail.code),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api { status, detail } => {
                write!(f, "{status}: {}: {}", detail.code, detail.message)?;
                match &detail.field {
                    Some(field) => write!(f, " (field `{field}`)"),
                    None => Ok(()),
                }
            }
            Error::Status { status, body } => write!(f, "{status}: {body}"),
            Error::Decode { status, source } => {
                write!(f, "{status}: the answer does not match the API: {source}")
            }
            Error::Transport(e) => write!(f, "request failed: {e}"),
            Error::Config(what) => f.write_str(what),
            Error::Encode(e) => write!(f, "the request body cannot be written as JSON: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Decode { source, .. } | Error::Encode(source) => Some(source),
            Error::Transport(e) => Some(e),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        // reqwest puts the URL in its errors; ours hold no secrets there, but drop it anyway so
        // that query strings never end up in logs.
        Error::Transport(e.without_url())
    }
}
