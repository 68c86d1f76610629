//! Cross-site request forgery defence for every POST: the request must come from this origin
//! (`Sec-Fetch-Site` and `Origin`, where the browser sends them) and, once signed in, carry the
//! session's token in the form's `_csrf` field. [`Form`] does both and parses the body;
//! [`SignInForm`] does the origin check alone, for the one form posted before a session exists.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{HOST, ORIGIN};
use axum::http::request::Parts;

use super::DashState;
use super::error::DashError;
use super::session::Viewer;
use crate::keys::hashes_equal;

/// A form's fields, in order (a field may repeat: the event checkboxes).
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// A same-origin form of a signed-in session, with its CSRF token checked.
pub struct Form {
    /// Who posted it.
    pub viewer: Viewer,
    /// Its fields.
    pub fields: Fields,
}

/// A same-origin form posted without a session (the admin key sign-in).
pub struct SignInForm(pub Fields);

/// Refuses a request a browser marked as coming from another site.
fn check_origin(parts: &Parts) -> Result<(), DashError> {
    const REFUSED: DashError = DashError::Forbidden("This form was sent from another site.");
    if let Some(site) = parts.headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return Err(REFUSED);
    }
    if let Some(origin) = parts.headers.get(ORIGIN) {
        let host = parts.headers.get(HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        if host.is_none() || origin_host != host {
            return Err(REFUSED);
        }
    }
    Ok(())
}

async fn fields(body: Request, state: &DashState) -> Result<Fields, DashError> {
    let bytes = Bytes::from_request(body, state)
        .await
        .map_err(|_| DashError::Forbidden("The form could not be read."))?;
    Ok(Fields(
        form_urlencoded::parse(&bytes).into_owned().collect(),
    ))
}

impl FromRequest<DashState> for Form {
    type Rejection = DashError;

    async fn from_request(request: Request, state: &DashState) -> Result<Self, DashError> {
        let (mut parts, body) = request.into_parts();
        check_origin(&parts)?;
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let fields = fields(Request::from_parts(parts, body), state).await?;
        let token = fields.get("_csrf").unwrap_or("");
        if !hashes_equal(token, viewer.csrf()) {
            return Err(DashError::Forbidden(
                "This form has expired. Go back, reload the page and try again.",
            ));
        }
        Ok(Form { viewer, fields })
    }
}

impl FromRequest<DashState> for SignInForm {
    type Rejection = DashError;

    async fn from_request(request: Request, state: &DashState) -> Result<Self, DashError> {
        let (parts, body) = request.into_parts();
        check_origin(&parts)?;
        Ok(SignInForm(
            fields(Request::from_parts(parts, body), state).await?,
        ))
    }
}
