//! Deliveries to message brokers (docs/brokers.md): a webhook whose `url` names a broker
//! (`model::broker_url`) gets the same attempt as an HTTP one — the body and signature
//! [`Sender::render_request`] renders, an [`Outcome`] that succeeds when the broker has
//! acknowledged the message and otherwise says why and whether a retry could help — so
//! retries, the log, stats, auto-disable and the dashboard need nothing of their own.
//!
//! One file per broker (`redis_stream`, `nats`, `amqp`, `mqtt`, each a Cargo feature) holds a
//! [`Connection`]: how to connect to one broker address and publish over it. [`Pool`] keeps
//! one connection per address and credentials: connected on first use (through the address
//! guard: the host is resolved (overrides, DNS cache) and checked by the same [`Guard`] as HTTP's, and the
//! client is handed the checked IP, so a DNS answer cannot steer it elsewhere), shared by
//! every attempt to that address, dropped after a failure that may have broken it (the next
//! attempt reconnects), and bounded: past [`MAX_CONNECTIONS`] the least recently used goes.
//!
//! Broker credentials are secrets: failure texts are written here, naming the broker by
//! scheme, host and port only, and any text a client library returns is scrubbed of the
//! password before it reaches the log.

// A build without any broker keeps the types (a stored broker URL still gets a clear
// failure) but none of the connection machinery is used.
#![cfg_attr(
    not(any(
        feature = "redis",
        feature = "nats",
        feature = "amqp",
        feature = "mqtt"
    )),
    expect(dead_code, unused_imports, reason = "no broker in this build")
)]

#[cfg(feature = "amqp")]
mod amqp;
#[cfg(feature = "mqtt")]
mod mqtt;
#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "redis")]
mod redis_stream;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

use super::failure::{Failure, FailureKind};
use super::guard::{Forbidden, Guard};
use super::send::{Message, Outcome, Sender};
use super::target::Target;
use crate::model::broker_url::{BrokerKind, BrokerUrl};
use crate::store::AttemptResult;

/// Broker connections kept at most; past it the least recently used is closed.
pub const MAX_CONNECTIONS: usize = 256;

/// A broker destination, worked out once per webhook version (see [`Target`]).
#[derive(Debug)]
pub struct BrokerTarget {
    /// The parsed URL.
    pub url: BrokerUrl,
    /// What the pool keys connections by: scheme, credentials, host, port (and AMQP's vhost,
    /// which a connection is opened on). Holds the password: never logged.
    key: Box<str>,
    /// How failure texts name the broker: `redis 127.0.0.1:6379`, without credentials.
    label: Box<str>,
}

impl BrokerTarget {
    /// The broker destination `url` names.
    pub fn new(url: BrokerUrl) -> Self {
        let vhost = match &url.destination {
            crate::model::broker_url::Destination::Amqp { vhost, .. } => vhost.as_str(),
            _ => "",
        };
        let key = format!(
            "{}://{}:{}@{}:{}/{}",
            url.kind.scheme(),
            url.username,
            url.password.as_deref().unwrap_or_default(),
            url.host,
            url.port,
            vhost
        );
        let label = format!("{} {}:{}", url.kind.scheme(), url.host, url.port);
        Self {
            url,
            key: key.into(),
            label: label.into(),
        }
    }
}

/// What one publish carries: the headers HTTP would send (ids, timestamp, signature, custom
/// headers) and the body.
pub struct Rendered<'a> {
    /// Header names in lower case, as HTTP/2 writes them.
    pub headers: &'a HeaderMap,
    /// The rendered payload.
    pub body: Vec<u8>,
    /// The event id (also in `webhook-id`), for brokers with a message-id property.
    pub id: &'a str,
    /// Unix seconds (also in `webhook-timestamp`).
    pub timestamp: i64,
}

/// A connection to one broker address, shared by the attempts to it.
pub(crate) trait Connection: Send + Sync + Sized + 'static {
    /// Connects to `addr` (allowed by the guard) with `url`'s credentials, within `timeout`.
    fn connect(
        addr: SocketAddr,
        url: &BrokerUrl,
        timeout: Duration,
    ) -> impl Future<Output = Result<Self, Failure>> + Send;

    /// Publishes `message` to `url`'s destination and waits for the broker's acknowledgement;
    /// `Ok` says what the broker answered (for the log's response excerpt). A failure of kind
    /// [`FailureKind::Rejected`] leaves the connection in use; any other drops it.
    fn publish(
        &self,
        url: &BrokerUrl,
        message: Rendered<'_>,
    ) -> impl Future<Output = Result<String, Failure>> + Send;
}

/// One address's connection slot: the lock makes concurrent first attempts share one connect.
struct Entry<C> {
    conn: tokio::sync::Mutex<Option<Arc<C>>>,
    /// Milliseconds since the pool's start, at the last use: the eviction order.
    last_used: AtomicU64,
}

/// Connections of one broker kind, by [`BrokerTarget`]'s key.
pub(crate) struct Pool<C> {
    entries: Mutex<HashMap<Box<str>, Arc<Entry<C>>>>,
    epoch: Instant,
}

impl<C: Connection> Pool<C> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
        }
    }

    fn entry(&self, key: &str) -> Arc<Entry<C>> {
        let now = self.epoch.elapsed().as_millis() as u64;
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get(key) {
            entry.last_used.store(now, Ordering::Relaxed);
            return entry.clone();
        }
        if entries.len() >= MAX_CONNECTIONS
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone())
        {
            // Attempts holding its connection finish with it; it closes when they drop it.
            entries.remove(&oldest);
        }
        let entry = Arc::new(Entry {
            conn: tokio::sync::Mutex::new(None),
            last_used: AtomicU64::new(now),
        });
        entries.insert(key.into(), entry.clone());
        entry
    }

    /// Publishes over `target`'s connection, connecting first if there is none.
    async fn publish(
        &self,
        guard: &Guard,
        target: &BrokerTarget,
        message: Rendered<'_>,
        timeout: Duration,
    ) -> Result<String, Failure> {
        let entry = self.entry(&target.key);
        let conn = {
            let mut slot = entry.conn.lock().await;
            match &*slot {
                Some(conn) => conn.clone(),
                None => {
                    let conn = Arc::new(connect::<C>(guard, &target.url, timeout).await?);
                    *slot = Some(conn.clone());
                    conn
                }
            }
        };
        let published = conn.publish(&target.url, message).await;
        if let Err(failure) = &published
            && failure.kind != FailureKind::Rejected
        {
            let mut slot = entry.conn.lock().await;
            if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, &conn)) {
                *slot = None;
            }
        }
        published
    }
}

/// Resolves `url`'s host through the guard and connects to the first allowed address that
/// answers.
async fn connect<C: Connection>(
    guard: &Guard,
    url: &BrokerUrl,
    timeout: Duration,
) -> Result<C, Failure> {
    let addrs = guard
        .lookup(&url.host, url.port)
        .await
        .map_err(|e| Failure::retryable(FailureKind::Dns, format!("dns: {e}")))?;
    if addrs.is_empty() {
        return Err(Failure {
            kind: FailureKind::RefusedAddress,
            reason: Forbidden(url.host.clone()).to_string(),
            retryable: false,
        });
    }
    let mut last = None;
    for addr in addrs {
        match C::connect(addr, url, timeout).await {
            Ok(conn) => return Ok(conn),
            Err(failure) if failure.kind == FailureKind::Connect => last = Some(failure),
            Err(failure) => return Err(failure),
        }
    }
    Err(last.unwrap_or_else(|| Failure::retryable(FailureKind::Connect, "no address answered")))
}

/// The broker connections of one sender.
pub struct Brokers {
    guard: Arc<Guard>,
    #[cfg(feature = "redis")]
    redis: Pool<redis_stream::Conn>,
    #[cfg(feature = "nats")]
    nats: Pool<nats::Conn>,
    #[cfg(feature = "amqp")]
    amqp: Pool<amqp::Conn>,
    #[cfg(feature = "mqtt")]
    mqtt: Pool<mqtt::Conn>,
}

impl Brokers {
    /// Connections that reach only what `guard`'s policy allows, resolving names as it does.
    pub fn new(guard: Arc<Guard>) -> Self {
        Self {
            guard,
            #[cfg(feature = "redis")]
            redis: Pool::new(),
            #[cfg(feature = "nats")]
            nats: Pool::new(),
            #[cfg(feature = "amqp")]
            amqp: Pool::new(),
            #[cfg(feature = "mqtt")]
            mqtt: Pool::new(),
        }
    }

    /// Makes one attempt of `message` to `target`'s broker, as [`Sender::attempt_in`] does
    /// for HTTP.
    pub async fn attempt(
        &self,
        target: &Target,
        broker: &BrokerTarget,
        message: Message<'_>,
    ) -> Outcome {
        let started_at = crate::clock::now_ms();
        let clock = Instant::now();
        let timeout = Duration::from_secs(u64::from(target.timeout_seconds.get()));
        let published = match Sender::render_request(target, message, started_at) {
            Err(reason) => Err(Failure {
                kind: FailureKind::Other,
                reason,
                retryable: false,
            }),
            Ok((headers, body)) => {
                let rendered = Rendered {
                    headers: &headers,
                    body,
                    id: message.id,
                    timestamp: started_at.div_euclid(1000),
                };
                match tokio::time::timeout(timeout, self.publish(broker, rendered, timeout)).await {
                    Ok(published) => published,
                    Err(_) => Err(Failure::retryable(
                        FailureKind::Timeout,
                        format!("timeout: no acknowledgement within {} s", timeout.as_secs()),
                    )),
                }
            }
        };
        let (succeeded, response_body, error, failure, retryable) = match published {
            Ok(ack) => (true, Some(ack), None, None, true),
            Err(f) => {
                let reason = scrub(&f.reason, broker.url.password.as_deref());
                let error = format!("{}: {reason}", broker.label);
                (false, None, Some(error), Some(f.kind), f.retryable)
            }
        };
        Outcome {
            result: AttemptResult {
                started_at,
                latency_ms: clock.elapsed().as_millis() as i64,
                succeeded,
                status_code: None,
                response_body,
                error,
            },
            retryable,
            gone: false,
            retry_after: None,
            failure,
        }
    }

    async fn publish(
        &self,
        broker: &BrokerTarget,
        message: Rendered<'_>,
        timeout: Duration,
    ) -> Result<String, Failure> {
        let guard = &*self.guard;
        match broker.url.kind {
            #[cfg(feature = "redis")]
            BrokerKind::Redis => self.redis.publish(guard, broker, message, timeout).await,
            #[cfg(feature = "nats")]
            BrokerKind::Nats => self.nats.publish(guard, broker, message, timeout).await,
            #[cfg(feature = "amqp")]
            BrokerKind::Amqp => self.amqp.publish(guard, broker, message, timeout).await,
            #[cfg(feature = "mqtt")]
            BrokerKind::Mqtt => self.mqtt.publish(guard, broker, message, timeout).await,
            #[cfg_attr(
                all(
                    feature = "redis",
                    feature = "nats",
                    feature = "amqp",
                    feature = "mqtt"
                ),
                expect(
                    unreachable_patterns,
                    reason = "reached in builds without every broker"
                )
            )]
            kind => {
                let _ = (guard, message, timeout);
                Err(Failure {
                    kind: FailureKind::Other,
                    reason: format!(
                        "{}:// destinations are not in this build (Cargo feature `{}`)",
                        kind.scheme(),
                        kind.scheme()
                    ),
                    retryable: false,
                })
            }
        }
    }
}

/// `text` without the password: a client library's error could quote a connection string.
fn scrub(text: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if !p.is_empty() => text.replace(p, "***"),
        _ => text.to_owned(),
    }
}

/// A connection the broker's address did not take (refused, unreachable): retried, and the
/// host's next address is tried first ([`connect`]); the reason reads `connect: …` like HTTP's.
pub(crate) fn connect_failure(text: &str) -> Failure {
    Failure::retryable(FailureKind::Connect, format!("connect: {text}"))
}

/// The text of a client library's error and of its sources, for a failure's reason.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbing_removes_the_password_wherever_it_appears() {
        assert_eq!(
            scrub("auth failed for amqp://u:s3cret@h", Some("s3cret")),
            "auth failed for amqp://u:***@h"
        );
        assert_eq!(scrub("refused", None), "refused");
        assert_eq!(scrub("refused", Some("")), "refused");
    }
}
