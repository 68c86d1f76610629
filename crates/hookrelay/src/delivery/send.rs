//! One HTTP attempt: render the body, sign it, POST it (over the host slot's own HTTP/1.1
//! connection, plain or TLS; to a host that takes HTTP/2 alone over the pooled client), and
//! describe what happened as data ([`Outcome`]), never as an `Err`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookrelay_signature::{Scheme, sign};
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use super::brokers::Brokers;
use super::failure::FailureKind;
use super::guard::Guard;
use super::http1::{self, Answer};
use super::idle::IdlePool;
use super::pooled::Pooled;
use super::schedule::Verdict;
use super::stream::Connector;
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
            (Some(FailureKind::Rejected), _) => AttemptClass::Rejected,
            // Never recorded: such an attempt is sent again over the pooled client.
            (Some(FailureKind::Http2Only | FailureKind::Other), _) => AttemptClass::Other,
            (None, Some(status)) => AttemptClass::of_status(status),
            // Only a broker's acknowledgement succeeds without a status.
            (None, None) if self.result.succeeded => AttemptClass::Acked,
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

/// How many delivery connections are kept, and for how long.
#[derive(Clone, Copy, Debug)]
pub struct Pooling {
    /// Connections to one host (`per_host_connections`).
    pub per_host: usize,
    /// Unused connections kept over all hosts (`max_idle_connections`).
    pub max_idle: usize,
    /// How long an unused connection is kept (`connection_idle_timeout_seconds`).
    pub idle_timeout: Duration,
}

/// Sends attempts: over host slots' own connections, and the pooled client for HTTP/2 hosts.
#[derive(Clone)]
pub struct Sender {
    /// Opens slot connections, through the address guard, with TLS for HTTPS.
    connector: Arc<Connector>,
    /// For hosts that take HTTP/2 alone.
    pooled: Arc<Pooled>,
    /// Slot connections between host slots.
    idle: Arc<IdlePool>,
    per_host_connections: usize,
    /// Connections to the brokers webhooks' URLs name.
    brokers: Arc<Brokers>,
}

impl Sender {
    /// A sender whose connections reach only what `guard`'s policy allows (`guard` can be an
    /// `AddressPolicy` alone: no overrides, the default DNS cache), never follow redirects (a
    /// redirect could lead anywhere), trust what `tls` trusts (see `tls.rs`) and are kept
    /// as `pooling` says. Starts the idle connections' sweeper on the current
    /// runtime.
    pub fn new(
        guard: impl Into<Guard>,
        tls: &rustls::ClientConfig,
        pooling: Pooling,
    ) -> anyhow::Result<Self> {
        let guard = Arc::new(guard.into());
        let Pooling {
            per_host,
            max_idle,
            idle_timeout,
        } = pooling;
        let pooled = Pooled::new(guard.clone(), per_host, tls, idle_timeout)?;
        Ok(Self {
            pooled: Arc::new(pooled),
            brokers: Arc::new(Brokers::new(guard.clone())),
            connector: Arc::new(Connector::new(guard, tls)),
            idle: IdlePool::start(idle_timeout, max_idle),
            per_host_connections: per_host,
        })
    }

    /// System resolver calls made and cached DNS answers used by this sender's connections.
    pub fn dns_counts(&self) -> super::dns::DnsCounts {
        self.connector.guard().dns_counts()
    }

    /// An idle connection to `host` (`host:port`) for a host slot starting.
    pub async fn checkout(&self, host: &str) -> Option<http1::Conn> {
        self.idle.take(host)?.resume().await
    }

    /// Keeps a host slot's connection for the next slot of `host`, if it can carry another
    /// request.
    pub fn checkin(&self, host: &Arc<str>, conn: Option<http1::Conn>) {
        if let Some(parked) = conn.and_then(http1::Conn::park) {
            self.idle.put(host, parked, self.per_host_connections);
        }
    }

    /// Makes one attempt of `message` to `target`, on a connection of its own.
    pub async fn attempt(&self, target: &Target, message: Message<'_>) -> Outcome {
        self.attempt_in(&mut None, target, message).await
    }

    /// Makes one attempt of `message` to `target` over `slot`'s own connection (see
    /// `http1.rs`), or over the pooled client if the host takes HTTP/2 alone.
    pub async fn attempt_in(
        &self,
        slot: &mut Option<http1::Conn>,
        target: &Target,
        message: Message<'_>,
    ) -> Outcome {
        // HTTP's one cost of brokers: this check of a field the target worked out once.
        if let Some(broker) = target.broker() {
            // Boxed: a broker attempt's future (its client's publish inline) is nearly twice
            // an HTTP attempt's, and every host slot's task would otherwise be that large.
            return Box::pin(self.brokers.attempt(target, broker, message)).await;
        }
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
        // Only a slot without a connection can be at a host it has not reached yet.
        if slot.is_some() || !self.pooled.takes(url) {
            let post = http1::Post { url, headers, body };
            let sent = http1::post(slot, &self.connector, post, RESPONSE_EXCERPT_BYTES);
            match tokio::time::timeout(timeout, sent).await {
                Err(_) => {
                    // Mid-request: the connection's state is unknown.
                    *slot = None;
                    return finish(None, Some(timed_out(timeout)), true);
                }
                Ok(Err(failed)) if failed.kind == FailureKind::Http2Only => {
                    self.pooled.remember(url);
                }
                Ok(Err(failed)) => {
                    return finish(None, Some((failed.kind, failed.reason)), failed.retryable);
                }
                Ok(Ok(answer)) => return finish(Some(answer), None, true),
            }
        }
        // The request was given to the slot's connection, so it is rendered again (once per
        // HTTP/2 host learnt; afterwards the slot connection is not tried).
        let (url, headers, body) = match self.prepare(target, message, started_at) {
            Ok(prepared) => prepared,
            Err(BuildError::Permanent(kind, reason)) => {
                return finish(None, Some((kind, reason)), false);
            }
        };
        let remaining = timeout.saturating_sub(clock.elapsed());
        let (answer, failed) = self
            .pooled
            .post(url, headers, body, remaining, RESPONSE_EXCERPT_BYTES)
            .await;
        match failed {
            Some((kind, reason, retryable)) => finish(answer, Some((kind, reason)), retryable),
            None => finish(answer, None, true),
        }
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
            && !self.connector.policy().allows(ip)
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
