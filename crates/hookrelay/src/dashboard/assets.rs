//! The stylesheet and script, embedded in the binary and served under a name carrying a hash
//! of their content (`app.3f2a…css`), so browsers may cache them forever and a new build's
//! pages name new files. A request for a stale name gets 404 rather than old content.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

/// One embedded file.
pub struct Asset {
    /// `app.<hash>.css`: what pages link to.
    pub name: String,
    body: &'static str,
    content_type: &'static str,
}

impl Asset {
    fn new(stem: &str, ext: &str, body: &'static str, content_type: &'static str) -> Self {
        let hash = hex::encode(&Sha256::digest(body.as_bytes())[..8]);
        Self {
            name: format!("{stem}.{hash}.{ext}"),
            body,
            content_type,
        }
    }

    /// The URL pages link to.
    pub fn url(&self) -> String {
        format!("/dashboard/assets/{}", self.name)
    }
}

/// The stylesheet.
pub static STYLESHEET: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("app", "css", CSS, "text/css; charset=utf-8"));
/// The script.
pub static SCRIPT: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("app", "js", JS, "text/javascript; charset=utf-8"));

pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = [&*STYLESHEET, &*SCRIPT]
        .into_iter()
        .find(|a| a.name == file)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                ETAG,
                HeaderValue::from_str(&format!("\"{}\"", asset.name))
                    .unwrap_or(HeaderValue::from_static("\"asset\"")),
            ),
        ],
        asset.body,
    )
        .into_response()
}
