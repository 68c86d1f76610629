//! The pooled `reqwest` client, for the hosts a slot's HTTP/1.1 connection cannot reach: those
//! that take HTTP/2 alone (they refused HTTP/1.1 by ALPN on a slot connection). It offers h2
//! and HTTP/1.1, resolves names through the address guard, trusts what the slot connections
//! trust and shares their TLS session cache (`tls.rs`). The hosts it is for are remembered
//! here, by `host:port`, so only their first connection finds out.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use super::failure::{FailureKind, rustls_error};
use super::guard::{Forbidden, Guard, GuardedResolver};
use super::http1::Answer;
use super::retry_after;

/// HTTP/2-only hosts remembered before the set starts over (a host forgotten costs one refused
/// handshake to learn again).
const MAX_HTTP2_HOSTS: usize = 10_000;

/// The pooled client and the hosts it is for.
pub struct Pooled {
    client: reqwest::Client,
    http2_hosts: Mutex<HashSet<String>>,
}

/// How a pooled attempt ended without a whole response: its kind, reason, and whether trying
/// again could help.
pub type Failed = (FailureKind, String, bool);

impl Pooled {
    /// A client whose connections are pooled and kept alive for `idle_timeout`, never follow
    /// redirects (a redirect could lead anywhere), resolve names through `guard`, and trust
    /// what `tls` trusts.
    pub fn new(
        guard: Arc<Guard>,
        per_host_connections: usize,
        tls: &rustls::ClientConfig,
        idle_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut tls = tls.clone();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .user_agent(concat!("hookrelay/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver::new(guard)))
            .pool_max_idle_per_host(per_host_connections)
            .pool_idle_timeout(idle_timeout)
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            client,
            http2_hosts: Mutex::default(),
        })
    }

    fn hosts(&self) -> MutexGuard<'_, HashSet<String>> {
        self.http2_hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `url`'s host is known to take HTTP/2 alone.
    pub fn takes(&self, url: &reqwest::Url) -> bool {
        url.scheme() == "https" && self.hosts().contains(&key(url))
    }

    /// Remembers that `url`'s host takes HTTP/2 alone.
    pub fn remember(&self, url: &reqwest::Url) {
        let mut hosts = self.hosts();
        if hosts.len() >= MAX_HTTP2_HOSTS {
            hosts.clear();
        }
        hosts.insert(key(url));
    }

    /// POSTs `body` with `headers` to `url`, all of it (the body's excerpt too) within
    /// `timeout`.
    pub async fn post(
        &self,
        url: &reqwest::Url,
        headers: reqwest::header::HeaderMap,
        body: Vec<u8>,
        timeout: Duration,
        excerpt: usize,
    ) -> (Option<Answer>, Option<Failed>) {
        let started = tokio::time::Instant::now();
        let request = self.client.post(url.clone()).headers(headers).body(body);
        let response = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => return (None, Some(timed_out(timeout))),
            Ok(Err(e)) => return (None, Some(classify(&e))),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let retry_after = retry_after::parse(status, response.headers(), SystemTime::now());
        let remaining = timeout.saturating_sub(started.elapsed());
        let (body, failed) =
            match tokio::time::timeout(remaining, read_excerpt(response, excerpt)).await {
                Ok(body) => (body, None),
                Err(_) => (None, Some(timed_out(timeout))),
            };
        let answer = Answer {
            status,
            body,
            retry_after,
        };
        (Some(answer), failed)
    }
}

/// `host:port`, as the per-host limits key hosts.
fn key(url: &reqwest::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

fn timed_out(timeout: Duration) -> Failed {
    (
        FailureKind::Timeout,
        format!("timeout: no response within {} s", timeout.as_secs()),
        true,
    )
}

/// Reads at most `excerpt` bytes of the body; the rest is never buffered.
async fn read_excerpt(mut response: reqwest::Response, excerpt: usize) -> Option<String> {
    let mut buf = Vec::new();
    while buf.len() < excerpt {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    buf.truncate(excerpt);
    if buf.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// The kind and a short, stable description of a transport error, and whether retrying can
/// help.
fn classify(e: &reqwest::Error) -> Failed {
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

fn innermost(e: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}
