//! One HTTP attempt: render the body, sign it, POST it (plain HTTP over the host slot's own
//! connection, HTTPS over the pooled client), and describe what happened as data ([`Outcome`]),
//! never as an `Err`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hookrelay_signature::{Scheme, sign};
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use super::guard::{AddressPolicy, Forbidden, GuardedResolver};
use super::http1::{self, Answer, FailureKind};
use super::retry_after;
use super::schedule::Verdict;
use super::target::Target;
use crate::measure::AttemptClass;
use crate::payload::{self, EventView};
use crate::store::AttemptResult;

/// Response bytes kept in an attempt's log.
const RESPONSE_EXCERPT_BYTES: usize = 4096;

/// What one attempt came to.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// What came back, as the log records it.
    pub result: AttemptResult,
    /// Whether trying again could help. A refused address, an unrenderable payload or a
    /// `410 Gone` cannot.
    pub retryable: bool,
    /// The receiver answered `410 Gone`: the endpoint says it is no more, so the webhook, not
    /// just this delivery, has no future (the store may disable it).
    pub gone: bool,
    /// On a `429` or `503`, the wait its `Retry-After` asked for, as parsed: the schedule
    /// bounds it.
    pub retry_after: Option<Duration>,
    /// Why no (whole) response came, if one did not.
    pub failure: Option<FailureKind>,
}

impl Outcome {
    /// How the attempt ended, as metrics count it.
    pub fn class(&self) -> AttemptClass {
        match (self.failure, self.result.status_code) {
            (Some(FailureKind::Timeout), _) => AttemptClass::Timeout,
            (Some(FailureKind::Connect), _) => AttemptClass::Connect,
            (Some(FailureKind::Dns), _) => AttemptClass::Dns,
            (Some(FailureKind::Tls), _) => AttemptClass::Tls,
            (Some(FailureKind::RefusedAddress), _) => AttemptClass::RefusedAddress,
            (Some(FailureKind::Other), _) => AttemptClass::Other,
            (None, Some(status)) => AttemptClass::of_status(status),
            (None, None) => AttemptClass::Other,
        }
    }

    /// What the attempt means for the delivery's schedule.
    pub fn verdict(&self) -> Verdict {
        if self.result.succeeded {
            Verdict::Succeeded
        } else if self.retryable {
            Verdict::Retryable {
                retry_after: self.retry_after,
            }
        } else {
            Verdict::Permanent
        }
    }
}

/// The event one attempt carries.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// The id receivers dedupe on, sent as `webhook-id`; the same on every retry.
    pub id: &'a str,
    /// The event's type.
    pub event_type: &'a str,
    /// The event's creation time, unix ms.
    pub created_at: i64,
    /// The event's data (JSON text).
    pub data: &'a str,
}

/// Sends attempts over one shared, pooled HTTP client.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
    /// Plain-HTTP connections between host slots.
    idle: Arc<http1::IdlePool>,
    per_host_connections: usize,
}

impl Sender {
    /// A client whose connections are pooled and kept alive, never follow redirects (a
    /// redirect could lead anywhere), resolve names through the address guard, and trust what
    /// `tls` trusts (see `tls.rs`).
    pub fn new(
        policy: AddressPolicy,
        per_host_connections: usize,
        tls: &rustls::ClientConfig,
    ) -> anyhow::Result<Self> {
        let policy = Arc::new(policy);
        let mut pooled_tls = tls.clone();
        pooled_tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(pooled_tls)
            .user_agent(concat!("hookrelay/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver::new(policy.clone())))
            .pool_max_idle_per_host(per_host_connections)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            client,
            policy,
            idle: Arc::default(),
            per_host_connections,
        })
    }

    /// An idle plain-HTTP connection to `host` (`host:port`) for a host slot starting.
    pub fn checkout(&self, host: &str) -> Option<http1::Conn> {
        self.idle.take(host)
    }

    /// Keeps a host slot's connection for the next slot of `host`.
    pub fn checkin(&self, host: &Arc<str>, conn: Option<http1::Conn>) {
        if let Some(conn) = conn {
            self.idle.put(host, conn, self.per_host_connections);
        }
    }

    /// Makes one attempt of `message` to `target`, on a connection of its own if plain HTTP.
    pub async fn attempt(&self, target: &Target, message: Message<'_>) -> Outcome {
        self.attempt_in(&mut None, target, message).await
    }

    /// Makes one attempt of `message` to `target`. A plain-HTTP one goes over `slot`'s own
    /// connection (see `http1.rs`), HTTPS over the pooled client.
    pub async fn attempt_in(
        &self,
        slot: &mut Option<http1::Conn>,
        target: &Target,
        message: Message<'_>,
    ) -> Outcome {
        let started_at = crate::clock::now_ms();
        let clock = Instant::now();
        let finish = |answer: Option<Answer>, error: Option<(FailureKind, String)>, retryable| {
            let (failure, error) = error.unzip();
            let status_code = answer.as_ref().map(|a| a.status);
            let gone = status_code == Some(410);
            let (response_body, retry_after) =
                answer.map_or((None, None), |a| (a.body, a.retry_after));
            Outcome {
                result: AttemptResult {
                    started_at,
                    latency_ms: clock.elapsed().as_millis() as i64,
                    succeeded: error.is_none() && matches!(status_code, Some(200..=299)),
                    status_code,
                    response_body,
                    error,
                },
                retryable: retryable && !gone,
                gone,
                retry_after,
                failure,
            }
        };
        let (url, headers, body) = match self.prepare(target, message, started_at) {
            Ok(prepared) => prepared,
            Err(BuildError::Permanent(kind, reason)) => {
                return finish(None, Some((kind, reason)), false);
            }
        };
        let timeout = Duration::from_secs(u64::from(target.timeout_seconds.get()));
        if url.scheme() == "http" {
            let post = http1::Post { url, headers, body };
            let sent = http1::post(slot, &self.policy, post, RESPONSE_EXCERPT_BYTES);
            return match tokio::time::timeout(timeout, sent).await {
                Err(_) => {
                    // Mid-request: the connection's state is unknown.
                    *slot = None;
                    finish(None, Some(timed_out(timeout)), true)
                }
                Ok(Err(failed)) => {
                    finish(None, Some((failed.kind, failed.reason)), failed.retryable)
                }
                Ok(Ok(answer)) => finish(Some(answer), None, true),
            };
        }
        let request = self.client.post(url.clone()).headers(headers).body(body);
        let response = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => return finish(None, Some(timed_out(timeout)), true),
            Ok(Err(e)) => {
                let (kind, reason, retryable) = classify(&e);
                return finish(None, Some((kind, reason)), retryable);
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let retry_after = retry_after::parse(status, response.headers(), SystemTime::now());
        let remaining = timeout.saturating_sub(clock.elapsed());
        let (body, error) = match tokio::time::timeout(remaining, read_excerpt(response)).await {
            Ok(body) => (body, None),
            Err(_) => (None, Some(timed_out(timeout))),
        };
        let answer = Answer {
            status,
            body,
            retry_after,
        };
        finish(Some(answer), error, true)
    }

    /// The URL, headers and body of one attempt.
    fn prepare<'t>(
        &self,
        target: &'t Target,
        message: Message<'_>,
        now_ms: i64,
    ) -> Result<(&'t reqwest::Url, reqwest::header::HeaderMap, Vec<u8>), BuildError> {
        let url = target.url();
        if let Some(ip) = literal_ip(url)
            && !self.policy.allows(ip)
        {
            return Err(BuildError::Permanent(
                FailureKind::RefusedAddress,
                format!("address not allowed: {ip} is private, loopback or link-local"),
            ));
        }
        let (headers, body) = Self::render_request(target, message, now_ms)
            .map_err(|reason| BuildError::Permanent(FailureKind::Other, reason))?;
        Ok((url, headers, body))
    }

    /// The headers hookrelay sets and the body of an attempt of `message` to `target` made at
    /// `now_ms`, or why it cannot be rendered. Pure: the delivery log re-renders requests
    /// with it instead of storing them.
    pub fn render_request(
        target: &Target,
        message: Message<'_>,
        now_ms: i64,
    ) -> Result<(reqwest::header::HeaderMap, Vec<u8>), String> {
        let webhook = &**target;
        let body = payload::render(
            webhook.payload_format,
            EventView {
                id: message.id,
                event_type: message.event_type,
                created_at: message.created_at,
                data: message.data,
            },
        )
        .map_err(|e| format!("payload cannot be rendered: {e}"))?;
        let scheme = target.scheme();
        let secret = target
            .secret()
            .ok_or_else(|| "the webhook's secret is not valid for its scheme".to_owned())?;
        let timestamp = now_ms.div_euclid(1000);
        // During a rotation, Standard Webhooks (the one scheme carrying several signatures)
        // signs with both secrets, so receivers that know either one accept the delivery.
        let previous = target
            .previous_secret(now_ms)
            .filter(|_| matches!(scheme, Scheme::StandardWebhooks));
        let both;
        let secrets = match previous {
            Some(old) => {
                both = [secret.clone(), old.clone()];
                &both[..]
            }
            None => std::slice::from_ref(secret),
        };
        let signed = sign(scheme, secrets, message.id, timestamp, &body);

        let mut headers =
            reqwest::header::HeaderMap::with_capacity(8 + webhook.headers.as_map().len());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in webhook.headers.as_map() {
            if let (Ok(n), Ok(v)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                headers.insert(n, v);
            }
        }
        if let Ok(v) = HeaderValue::try_from(message.id) {
            headers.insert(HeaderName::from_static("webhook-id"), v);
        }
        headers.insert(
            HeaderName::from_static("webhook-timestamp"),
            HeaderValue::from(timestamp),
        );
        for (name, value) in signed.iter() {
            if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                headers.insert(n, v);
            }
        }
        Ok((headers, body))
    }
}

enum BuildError {
    Permanent(FailureKind, String),
}

fn timed_out(timeout: Duration) -> (FailureKind, String) {
    (
        FailureKind::Timeout,
        format!("timeout: no response within {} s", timeout.as_secs()),
    )
}

fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// Reads at most [`RESPONSE_EXCERPT_BYTES`] of the body; the rest is never buffered.
async fn read_excerpt(mut response: reqwest::Response) -> Option<String> {
    let mut buf = Vec::new();
    while buf.len() < RESPONSE_EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    buf.truncate(RESPONSE_EXCERPT_BYTES);
    if buf.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// The kind and a short, stable description of a transport error, and whether retrying can
/// help.
fn classify(e: &reqwest::Error) -> (FailureKind, String, bool) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut text = String::new();
    while let Some(err) = source {
        if let Some(forbidden) = err.downcast_ref::<Forbidden>() {
            return (FailureKind::RefusedAddress, forbidden.to_string(), false);
        }
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return (FailureKind::Tls, format!("tls: {tls}"), true);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(tls) = rustls_error(io) {
                return (FailureKind::Tls, format!("tls: {tls}"), true);
            }
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return (FailureKind::Connect, "connection refused".into(), true);
                }
                std::io::ErrorKind::ConnectionReset => {
                    return (FailureKind::Other, "connection reset".into(), true);
                }
                _ => {}
            }
        }
        text.push_str(&err.to_string().to_ascii_lowercase());
        text.push(' ');
        source = err.source();
    }
    // reqwest does not type these; its messages are the only signal, read here once.
    let (kind, reason) = if e.is_timeout() {
        (FailureKind::Timeout, "timeout".to_owned())
    } else if text.contains("dns error") || text.contains("failed to lookup") {
        (FailureKind::Dns, format!("dns: {}", innermost(e)))
    } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        (FailureKind::Tls, format!("tls: {}", innermost(e)))
    } else if e.is_connect() {
        (FailureKind::Connect, format!("connect: {}", innermost(e)))
    } else {
        (
            FailureKind::Other,
            format!("request failed: {}", innermost(e)),
        )
    };
    (kind, reason, true)
}

/// The TLS error inside (possibly nested) `io::Error`s, whose `source()` skips their payload.
fn rustls_error(io: &std::io::Error) -> Option<&rustls::Error> {
    let mut payload = io.get_ref();
    while let Some(inner) = payload {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        payload = inner.downcast_ref::<std::io::Error>()?.get_ref();
    }
    None
}

fn innermost(e: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}
