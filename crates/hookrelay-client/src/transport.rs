//! Sending one [`Op`]: the URL from its template, the key, JSON both ways, and the retries its
//! [`Retry`] allows. A body is serialized once, before the first try, so every retry sends the
//! same bytes (and a publish the same event id).

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::models::ErrorBody;
use crate::operations::{Op, Retry};
use crate::{Client, Error, RetryPolicy};

/// An answer read as it came: what the raw calls return.
#[derive(Clone, Debug)]
pub struct RawAnswer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body, unread.
    pub body: Bytes,
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// How much of an unexpected error body an [`Error::Status`] keeps.
const EXCERPT: usize = 300;

impl Client {
    /// Sends `op` with its path parameters filled from `params`, in order, and answers the
    /// decoded success body or the error.
    pub(crate) async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        op: &Op<Req, Resp>,
        params: &[&str],
        query: &[(&'static str, String)],
        body: Option<&Req>,
    ) -> Result<Resp, Error> {
        let url = self.url(op, params, query);
        let body = body
            .map(|b| serde_json::to_vec(b).map(Bytes::from))
            .transpose()
            .map_err(Error::Encode)?;
        let policy = self.inner.retry;
        let tries = match op.retry {
            Retry::Safe => policy.attempts.max(1),
            Retry::Never => 1,
        };
        let mut tried = 1;
        loop {
            let last = tried >= tries;
            let wait = match self.send(op.verb.method(), url.clone(), body.clone()).await {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        match response.bytes().await {
                            Ok(bytes) => return decode(status, &bytes),
                            // The answer was lost on the way: its fate is unknown.
                            Err(_) if !last => backoff(&policy, tried, None),
                            Err(e) => return Err(e.into()),
                        }
                    } else if !last && retryable(status) {
                        backoff(&policy, tried, Some(response.headers()))
                    } else {
                        return Err(error(status, response).await);
                    }
                }
                Err(e) if !last && !e.is_builder() => backoff(&policy, tried, None),
                Err(e) => return Err(e.into()),
            };
            tokio::time::sleep(wait).await;
            tried += 1;
        }
    }

    /// Sends `op` once with a body already written, and hands back the answer unread: for
    /// callers that make their own JSON and judge the answer themselves.
    pub(crate) async fn call_raw<Req, Resp>(
        &self,
        op: &Op<Req, Resp>,
        body: Bytes,
    ) -> Result<RawAnswer, Error> {
        let url = self.url(op, &[], &[]);
        let response = self.send(op.verb.method(), url, Some(body)).await?;
        let status = response.status();
        Ok(RawAnswer {
            status,
            body: response.bytes().await?,
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: Url,
        body: Option<Bytes>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut request = self
            .inner
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.inner.auth.clone())
            .header(ACCEPT, JSON);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, JSON).body(body);
        }
        request.send().await
    }

    /// The base URL with the op's path, each `{name}` segment replaced by the next of
    /// `params` (percent-encoded, so an id can never change the path), and the query.
    fn url<Req, Resp>(
        &self,
        op: &Op<Req, Resp>,
        params: &[&str],
        query: &[(&'static str, String)],
    ) -> Url {
        let mut url = self.inner.base.clone();
        let mut params = params.iter();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty();
            for segment in op.path.trim_start_matches('/').split('/') {
                if segment.starts_with('{') {
                    let value = params.next();
                    debug_assert!(value.is_some(), "{} needs more parameters", op.path);
                    segments.push(value.copied().unwrap_or_default());
                } else {
                    segments.push(segment);
                }
            }
        }
        debug_assert!(
            params.next().is_none(),
            "{} takes fewer parameters",
            op.path
        );
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                debug_assert!(op.query.contains(name), "{} takes no ?{name}", op.path);
                pairs.append_pair(name, value);
            }
        }
        url
    }
}

/// 5xx (hookrelay answers 503 when its database is unreachable, a proxy 502 or 504) and 429.
fn retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// The wait before try `tried + 1`: the server's `Retry-After` (whole seconds) if it gave one,
/// else a random wait below `base_delay * 2^(tried - 1)`; never more than `max_delay`.
fn backoff(policy: &RetryPolicy, tried: u32, headers: Option<&HeaderMap>) -> Duration {
    let asked = headers
        .and_then(|h| h.get(RETRY_AFTER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let wait = asked.unwrap_or_else(|| {
        let ceiling = policy
            .base_delay
            .saturating_mul(1 << (tried - 1).min(16))
            .min(policy.max_delay);
        let ceiling_us = ceiling.as_micros() as u64;
        Duration::from_micros(crate::ids::random_u64() % (ceiling_us + 1))
    });
    wait.min(policy.max_delay)
}

fn decode<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T, Error> {
    // A 204 has no body: read it as `null`, which `()` accepts.
    let body = if body.is_empty() { b"null" } else { body };
    serde_json::from_slice(body).map_err(|source| Error::Decode { status, source })
}

/// The error an error answer carries: hookrelay's error JSON, or the start of whatever else.
async fn error(status: StatusCode, response: reqwest::Response) -> Error {
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => return e.into(),
    };
    match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(ErrorBody { error }) => Error::Api {
            status,
            detail: error,
        },
        Err(_) => {
            let text = String::from_utf8_lossy(&body);
            let end = text
                .char_indices()
                .nth(EXCERPT)
                .map_or(text.len(), |(at, _)| at);
            Error::Status {
                status,
                body: text[..end].to_owned(),
            }
        }
    }
}
