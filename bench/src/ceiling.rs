//! The ceiling: the same receiver driven by a bare HTTP client — same body size, same headers,
//! same connection count as hookrelay, but no storage and no signing. hookrelay's delivery rate
//! divided by this is the headline figure.
//!
//! The client runs on a single-threaded runtime on a thread of its own, as a separate process
//! would, not on the bench's multi-threaded runtime beside the receiver. There, each request's
//! task and its connection's task were scheduled on either worker, and every hop between the two
//! cost a cross-core wake-up: on a 2-core machine attempts came out at either ~45k or ~85k
//! requests/s, run to run, and some sessions only ever saw the low mode. On a thread of its own
//! the same client measured ~81k on a machine where the shared runtime gave ~47k, every time.
//!
//! Over TLS (`tls`), the client trusts the bench's CA, offers HTTP/1.1 alone and resumes
//! sessions as rustls does by default; the same connection count, so the same handshakes.
//! For `hosts` it also resolves every name to 127.0.0.1 itself and sends request `i` to host
//! `i % hosts`, so its 64 request loops open (and handshake) a connection per host name, as
//! hookrelay must; each host's connection is then kept alive and reused.
//!
//! It is also the best of [`ATTEMPTS`] attempts, each of as many requests as the scenario
//! delivered (at most [`MAX_REQUESTS`]). The best attempt is what the machine can do, so the
//! ratio errs on hookrelay's side of the ledger, never in its favour.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use tokio::task::JoinSet;

use crate::receiver::{Receiver, Transport};
use crate::stats::rate;

/// Connections (and requests in flight): hookrelay's default `per_host_connections`.
pub const CONNECTIONS: usize = 64;

/// A signature header of the size hookrelay sends (`v1,` and a base64 HMAC-SHA256).
const SIGNATURE: &str = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=";

/// What the bare client achieved.
#[derive(Clone, Copy, Debug)]
pub struct Ceiling {
    /// Requests per second, first request to last arrival.
    pub rate: f64,
    /// Requests that did not arrive (should be 0).
    pub missing: u64,
}

/// Attempts per measurement; the fastest counts.
pub const ATTEMPTS: usize = 3;

/// Requests per attempt at most: plenty for a steady rate, and a million-delivery scenario's
/// ceiling does not take minutes.
pub const MAX_REQUESTS: usize = 200_000;

/// The best of [`ATTEMPTS`] runs of [`attempt`] with `requests` (at most [`MAX_REQUESTS`]).
pub async fn measure(
    receiver: &Receiver,
    transport: Transport,
    requests: usize,
    webhooks: usize,
    body_len: usize,
) -> anyhow::Result<Ceiling> {
    let requests = requests.clamp(1, MAX_REQUESTS);
    let mut best = attempt(receiver, transport, requests, webhooks, body_len).await?;
    for _ in 1..ATTEMPTS {
        let next = attempt(receiver, transport, requests, webhooks, body_len).await?;
        let missing = best.missing + next.missing;
        if next.rate > best.rate {
            best = next;
        }
        best.missing = missing;
    }
    Ok(best)
}

/// Sends `requests` POSTs of `body_len` bytes to webhooks `0..webhooks` of `receiver`, over
/// `transport`. A fresh client each time: every attempt opens (and handshakes) its connections.
async fn attempt(
    receiver: &Receiver,
    transport: Transport,
    requests: usize,
    webhooks: usize,
    body_len: usize,
) -> anyhow::Result<Ceiling> {
    let body = Bytes::from(filler(body_len.max(2)));
    let urls: Arc<[String]> = (0..webhooks.max(1))
        .map(|n| receiver.url_over(transport, n))
        .collect();
    let tls = transport.tls().then(|| receiver.tls.client.clone());
    let loopback = transport == Transport::Hosts;
    let tracker = receiver.track(requests, 1, requests as u64);
    let started = tracker.now_ns();
    let driver = std::thread::Builder::new()
        .name("ceiling-client".into())
        .spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the ceiling client's runtime")?;
            let mut builder = reqwest::Client::builder()
                .pool_max_idle_per_host(CONNECTIONS)
                .tcp_nodelay(true)
                .timeout(Duration::from_secs(30));
            if let Some(tls) = tls {
                builder = builder.use_preconfigured_tls(tls);
            }
            if loopback {
                builder = builder.dns_resolver(Arc::new(Loopback));
            }
            let client = builder.build().context("building the ceiling client")?;
            runtime.block_on(drive(&client, &body, &urls, requests));
            Ok(())
        })
        .context("starting the ceiling client's thread")?;
    tokio::task::spawn_blocking(move || driver.join())
        .await
        .context("waiting for the ceiling client")?
        .map_err(|_| anyhow::anyhow!("the ceiling client panicked"))??;
    let outcome = tracker
        .wait(Duration::from_secs(10), Duration::from_secs(5), || true)
        .await;
    let last = tracker.arrival_span().map_or(started, |(_, last)| last);
    Ok(Ceiling {
        rate: rate(outcome.delivered, last.saturating_sub(started)),
        missing: outcome.missing,
    })
}

/// Sends `requests` POSTs over [`CONNECTIONS`] concurrent request loops.
async fn drive(client: &reqwest::Client, body: &Bytes, urls: &Arc<[String]>, requests: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..CONNECTIONS {
        let (client, body, urls, next) = (client.clone(), body.clone(), urls.clone(), next.clone());
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return;
                }
                let response = client
                    .post(&urls[i % urls.len()])
                    .header("content-type", "application/json")
                    .header("webhook-id", format!("c{i}"))
                    .header("webhook-timestamp", "1700000000")
                    .header("webhook-signature", SIGNATURE)
                    .body(body.clone())
                    .send()
                    .await;
                if let Ok(r) = response {
                    let _ = r.bytes().await;
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
}

/// Resolves every name to 127.0.0.1, as hookrelay's `resolve` setting does for `hosts`.
struct Loopback;

impl reqwest::dns::Resolve for Loopback {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let addrs: reqwest::dns::Addrs = Box::new(std::iter::once(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            0,
        ))));
        Box::pin(std::future::ready(Ok(addrs)))
    }
}

/// A JSON-ish body of exactly `len` bytes.
fn filler(len: usize) -> Vec<u8> {
    let mut body = vec![b'x'; len];
    body[0] = b'"';
    body[len - 1] = b'"';
    body
}
