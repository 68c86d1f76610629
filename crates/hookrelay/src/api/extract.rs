//! Body and query extractors whose rejections are `ApiError`s, so malformed input gets the same
//! error JSON as everything else (axum's own rejections are plain text). Bodies are parsed as
//! JSON whatever the `Content-Type`, because `curl -d` sends a form type by default.
//! [`double_option`] is for patch fields where `null` (clear it) differs from absent (keep it).
//! Messages are for people: serde's wording about its own internals is replaced, and whatever
//! the client sent is quoted only as a bounded excerpt.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::error::ApiError;

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body that may be left out entirely (an empty body, or `null`, is `None`).
pub struct OptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(None));
        }
        parse_json(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// Reads the body within the size limit, answering 413 with the error JSON beyond it.
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map_or(usize::MAX, |l| l.0);
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(limit)
        } else {
            ApiError::BadRequest(format!("could not read the request body: {rejection}"))
        }
    })
}

/// The configured body limit, put in request extensions so rejections can name it.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Parses JSON, naming the failing field in a 422 (or a 400 when it is not JSON at all).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Err(ApiError::BadRequest(
            "a JSON request body is required".into(),
        ));
    };
    // Every body is an object; serde would also fill a struct from an array (`[null, null]`).
    if *first != b'{' {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::BadRequest(format!(
                "the request body is not valid JSON: {}",
                bound_quotes(&inner.to_string())
            ))
        } else {
            let message = inner.to_string();
            let field = if path == "." {
                missing_field(&message)
            } else {
                path
            };
            if field.is_empty() {
                // The top level is not an object (`[]`, `"x"`, `1`): serde would say "invalid
                // length 0, expected struct PublishIn with 6 elements".
                return ApiError::BadRequest("the request body must be a JSON object".into());
            }
            ApiError::invalid(
                field,
                bound_quotes(&super::wording::humanize(&strip_position(&message))),
            )
        }
    })?;
    de.end().map_err(|e| {
        ApiError::BadRequest(format!(
            "the request body is not valid JSON: {}",
            bound_quotes(&e.to_string())
        ))
    })?;
    Ok(value)
}

/// serde reports a missing field at the parent's path; the field name is only in the message.
fn missing_field(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"))
        .unwrap_or("")
        .to_owned()
}

/// Most characters of one quoted value a message repeats back.
const QUOTED_CHARS: usize = 64;

/// Cuts each quoted value in a serde message (in `` ` `` or `"`) after 64 characters, so a
/// 10 KB string sent in the wrong place is not echoed back whole.
fn bound_quotes(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(512));
    let mut open: Option<char> = None;
    let mut inside = 0;
    for c in message.chars() {
        match open {
            Some(q) if c == q => {
                if inside > QUOTED_CHARS {
                    out.push('…');
                }
                out.push(c);
                open = None;
            }
            Some(_) => {
                inside += 1;
                if inside <= QUOTED_CHARS {
                    out.push(c);
                }
            }
            None => {
                if c == '`' || c == '"' {
                    open = Some(c);
                    inside = 0;
                }
                out.push(c);
            }
        }
    }
    out
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Deserializes a field that may be absent (outer None), null (Some(None)) or a value.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        // Every query value ends up bound to a statement or compared with stored text, and
        // PostgreSQL refuses a NUL in either: refused here, alike on both backends.
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            crate::model::check_text(&value, &key)?;
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                let field = if path == "." {
                    missing_field(&message)
                } else {
                    path
                };
                ApiError::invalid(field, bound_quotes(&super::wording::humanize(&message)))
            })
    }
}

/// Path parameters. No object has an id that does not percent-decode to UTF-8 or that holds a
/// NUL (PostgreSQL could not even compare one), so such a path answers the error JSON's 404,
/// the same on both backends, instead of axum's plain-text 400 or a database error.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("object"))?;
        if raw.iter().any(|(_, value)| value.contains('\0')) {
            return Err(ApiError::NotFound("object"));
        }
        let Path(value) =
            Path::<T>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| {
                    if rejection.status().is_server_error() {
                        ApiError::Internal(anyhow::anyhow!("path parameters: {rejection}"))
                    } else {
                        ApiError::NotFound("object")
                    }
                })?;
        Ok(ApiPath(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only deserialization is under test")]
    struct Input {
        url: String,
        timeout_seconds: Option<i64>,
    }

    #[test]
    fn json_errors_name_the_field() {
        let err = parse_json::<Input>(br#"{"url": 1}"#).unwrap_err();
        assert!(
            matches!(err, ApiError::Validation(ref i) if i.field == "url"),
            "{err:?}"
        );
        let err = parse_json::<Input>(br#"{}"#).unwrap_err();
        assert!(
            matches!(err, ApiError::Validation(ref i) if i.field == "url"),
            "{err:?}"
        );
        let err = parse_json::<Input>(br#"{"url":"x","nope":1}"#).unwrap_err();
        assert!(
            matches!(err, ApiError::Validation(ref i) if i.field == "nope"),
            "{err:?}"
        );
        let err = parse_json::<Input>(br#"{"url":"#).unwrap_err();
        assert!(matches!(err, ApiError::BadRequest(_)), "{err:?}");
        let err = parse_json::<Input>(br#"{"url":"x"} trailing"#).unwrap_err();
        assert!(matches!(err, ApiError::BadRequest(_)), "{err:?}");
    }
}
