//! The in-process receiver: answers every delivery 200 with an empty body at once and records its
//! arrival in the current [`Tracker`]. A second listener (for `isolation`) holds every request
//! far beyond any webhook timeout. A third answers as the first does, over TLS (for `tls`), with
//! the certificate of the bench's own CA ([`BenchTls`]).
//!
//! Requests go to `/w/<webhook number>` with the event id in the `webhook-id` header. The bench
//! chooses event ids itself: one letter and the event's index (`e123`), so an arrival maps to a
//! slot `index * stride + webhook % stride` of a dense table with no hashing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};

use crate::tls::{self, BenchTls, Handshakes, TlsListener};

/// How long the hanging endpoints hold a request: longer than any webhook timeout (30 s max).
const HANG: Duration = Duration::from_secs(60);

/// How deliveries reach the answering receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `http://127.0.0.1:<port>`.
    Plain,
    /// `https://localhost:<port>`, a certificate of the bench's CA.
    Tls,
    /// `https://h<n>.hosts.bench.test:<port>`: the TLS listener under a name per webhook,
    /// which the clients resolve to 127.0.0.1 themselves (no DNS).
    Hosts,
}

impl Transport {
    /// Whether it is encrypted.
    pub fn tls(self) -> bool {
        self != Transport::Plain
    }
}

/// The three listeners and what they have seen.
pub struct Receiver {
    /// Address of the answering listener.
    pub addr: SocketAddr,
    /// Address of the hanging listener.
    pub hanging_addr: SocketAddr,
    /// Address of the answering listener over TLS.
    pub tls_addr: SocketAddr,
    /// The CA and configurations the TLS listener and its clients use.
    pub tls: BenchTls,
    /// The TLS listener's handshakes so far.
    pub handshakes: Arc<Handshakes>,
    shared: Arc<Shared>,
}

struct Shared {
    tracker: RwLock<Arc<Tracker>>,
    hanging_requests: AtomicU64,
}

impl Receiver {
    /// Binds both listeners on 127.0.0.1 and serves them on the current (multi-threaded) runtime.
    pub async fn start() -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            tracker: RwLock::new(Arc::new(Tracker::new(0, 1, 0))),
            hanging_requests: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the receiver")?;
        let hanging = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the hanging receiver")?;
        let tls = BenchTls::create().context("creating the bench's CA")?;
        let secure = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the TLS receiver")?;
        let (addr, hanging_addr) = (listener.local_addr()?, hanging.local_addr()?);
        let handshakes = Arc::new(Handshakes::default());
        let secure = TlsListener::new(secure, tls.server.clone(), handshakes.clone())?;
        let tls_addr = axum::serve::Listener::local_addr(&secure)?;
        let answering = Router::new().fallback(receive).with_state(shared.clone());
        let answering_tls = answering.clone();
        let holding = Router::new().fallback(hang).with_state(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, answering).await {
                eprintln!("receiver stopped: {e}");
            }
        });
        tokio::spawn(async move {
            if let Err(e) = axum::serve(hanging, holding).await {
                eprintln!("hanging receiver stopped: {e}");
            }
        });
        tokio::spawn(async move {
            if let Err(e) = axum::serve(secure, answering_tls).await {
                eprintln!("TLS receiver stopped: {e}");
            }
        });
        Ok(Self {
            addr,
            hanging_addr,
            tls_addr,
            tls,
            handshakes,
            shared,
        })
    }

    /// URL of webhook `n` on the answering listener.
    pub fn url(&self, n: usize) -> String {
        format!("http://{}/w/{n}", self.addr)
    }

    /// URL of webhook `n` on the answering listener, reached over `transport`.
    pub fn url_over(&self, transport: Transport, n: usize) -> String {
        match transport {
            Transport::Plain => self.url(n),
            Transport::Tls => format!("https://{}:{}/w/{n}", tls::HOST, self.tls_addr.port()),
            Transport::Hosts => format!(
                "https://h{n}.{}:{}/w/{n}",
                tls::HOSTS_DOMAIN,
                self.tls_addr.port()
            ),
        }
    }

    /// URL of webhook `n` on the hanging listener.
    pub fn hanging_url(&self, n: usize) -> String {
        format!("http://{}/w/{n}", self.hanging_addr)
    }

    /// Starts recording into a fresh tracker for `events` events of `stride` deliveries each,
    /// of which `expected` are awaited. Arrivals from here on go to it.
    pub fn track(&self, events: usize, stride: usize, expected: u64) -> Arc<Tracker> {
        let tracker = Arc::new(Tracker::new(events, stride, expected));
        if let Ok(mut current) = self.shared.tracker.write() {
            *current = tracker.clone();
        }
        tracker
    }

    /// Requests the hanging listener has received since the bench started.
    pub fn hanging_requests(&self) -> u64 {
        self.shared.hanging_requests.load(Ordering::Relaxed)
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let tracker = match shared.tracker.read() {
        Ok(t) => t.clone(),
        Err(_) => return StatusCode::OK,
    };
    let now = tracker.now_ns();
    let webhook = uri
        .path()
        .strip_prefix("/w/")
        .and_then(|n| n.parse::<usize>().ok());
    let event = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .and_then(event_index);
    tracker.record(now, event, webhook, body.len());
    StatusCode::OK
}

async fn hang(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.hanging_requests.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(HANG).await;
    StatusCode::OK
}

/// The index in an id of the form `<letter><digits>`.
pub fn event_index(id: &str) -> Option<usize> {
    id.get(1..)?.parse().ok()
}

/// What arrived during one measurement: the first arrival per (event, webhook) slot, how often
/// each slot was hit, and when each event's publish was accepted. Times are nanoseconds since
/// the tracker's creation, plus one (0 means "not yet").
pub struct Tracker {
    epoch: Instant,
    stride: usize,
    expected: u64,
    accepted: Vec<AtomicU64>,
    arrivals: Vec<AtomicU64>,
    hits: Vec<AtomicU32>,
    filled: AtomicU64,
    duplicates: AtomicU64,
    stray: AtomicU64,
    requests: AtomicU64,
    body_bytes: AtomicU64,
    first_arrival: AtomicU64,
    last_arrival: AtomicU64,
}

/// How a wait for the expected deliveries ended.
#[derive(Clone, Copy, Debug)]
pub struct WaitOutcome {
    /// Distinct expected deliveries that arrived.
    pub delivered: u64,
    /// Expected deliveries that did not arrive before the wait gave up.
    pub missing: u64,
}

impl Tracker {
    fn new(events: usize, stride: usize, expected: u64) -> Self {
        let stride = stride.max(1);
        let atomics64 = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect::<Vec<_>>();
        Self {
            epoch: Instant::now(),
            stride,
            expected,
            accepted: atomics64(events),
            arrivals: atomics64(events * stride),
            hits: (0..events * stride).map(|_| AtomicU32::new(0)).collect(),
            filled: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            stray: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            body_bytes: AtomicU64::new(0),
            first_arrival: AtomicU64::new(u64::MAX),
            last_arrival: AtomicU64::new(0),
        }
    }

    /// Nanoseconds since the tracker started, plus one.
    pub fn now_ns(&self) -> u64 {
        self.ns_at(Instant::now())
    }

    /// `at` as nanoseconds since the tracker started, plus one.
    pub fn ns_at(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_nanos() as u64 + 1
    }

    /// Notes that the publish of event `index` was accepted at `ns`.
    pub fn accepted(&self, index: usize, ns: u64) {
        if let Some(slot) = self.accepted.get(index) {
            slot.store(ns, Ordering::Relaxed);
        }
    }

    fn record(&self, now: u64, event: Option<usize>, webhook: Option<usize>, body_len: usize) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.body_bytes
            .fetch_add(body_len as u64, Ordering::Relaxed);
        let slot = match (event, webhook) {
            (Some(e), Some(w)) => e
                .checked_mul(self.stride)
                .and_then(|s| s.checked_add(w % self.stride)),
            _ => None,
        };
        let Some(hits) = slot.and_then(|s| self.hits.get(s)) else {
            self.stray.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if hits.fetch_add(1, Ordering::Relaxed) > 0 {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Some(arrival) = slot.and_then(|s| self.arrivals.get(s)) {
            arrival.store(now, Ordering::Relaxed);
        }
        self.first_arrival.fetch_min(now, Ordering::Relaxed);
        self.last_arrival.fetch_max(now, Ordering::Relaxed);
        self.filled.fetch_add(1, Ordering::Release);
    }

    /// Distinct deliveries that have arrived.
    pub fn delivered(&self) -> u64 {
        self.filled.load(Ordering::Acquire)
    }

    /// Arrivals beyond the first for a slot: retries or duplicate deliveries.
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }

    /// Requests that named no known event and webhook.
    pub fn stray(&self) -> u64 {
        self.stray.load(Ordering::Relaxed)
    }

    /// Mean request body size in bytes (0 before any request).
    pub fn mean_body_len(&self) -> usize {
        let n = self.requests.load(Ordering::Relaxed);
        (self.body_bytes.load(Ordering::Relaxed))
            .checked_div(n)
            .unwrap_or(0) as usize
    }

    /// First and last arrival, nanoseconds (plus one) since the tracker started.
    pub fn arrival_span(&self) -> Option<(u64, u64)> {
        let first = self.first_arrival.load(Ordering::Relaxed);
        let last = self.last_arrival.load(Ordering::Relaxed);
        (first != u64::MAX).then_some((first, last))
    }

    /// Waits until every expected delivery has arrived, `overall` has passed, nothing has
    /// arrived for `stall`, or `alive` (asked every 100 ms) says the sender is gone. Prints
    /// progress every 10 s.
    pub async fn wait(
        &self,
        overall: Duration,
        stall: Duration,
        mut alive: impl FnMut() -> bool,
    ) -> WaitOutcome {
        let start = Instant::now();
        let mut last_count = self.delivered();
        let mut last_progress = start;
        let mut last_print = start;
        let mut last_alive_check = start;
        loop {
            let delivered = self.delivered();
            if delivered >= self.expected {
                break;
            }
            let now = Instant::now();
            if delivered != last_count {
                last_count = delivered;
                last_progress = now;
            }
            if now - last_progress > stall || now - start > overall {
                eprintln!(
                    "  giving up: {delivered} of {} deliveries arrived ({} s without progress)",
                    self.expected,
                    (now - last_progress).as_secs()
                );
                break;
            }
            if now - last_alive_check > Duration::from_millis(100) {
                last_alive_check = now;
                if !alive() {
                    eprintln!("  giving up: the sender exited");
                    break;
                }
            }
            if now - last_print > Duration::from_secs(10) {
                last_print = now;
                eprintln!("  ... {delivered} / {} delivered", self.expected);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let delivered = self.delivered();
        WaitOutcome {
            delivered,
            missing: self.expected.saturating_sub(delivered),
        }
    }

    /// Publish-accepted → first-arrival latency of every arrived delivery whose publish was
    /// accepted, in milliseconds. A delivery that arrives before the bench has read the 202
    /// counts as 0.
    pub fn latencies_ms(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.delivered() as usize);
        for (slot, arrival) in self.arrivals.iter().enumerate() {
            let arrived = arrival.load(Ordering::Relaxed);
            if arrived == 0 {
                continue;
            }
            let accepted = self
                .accepted
                .get(slot / self.stride)
                .map_or(0, |a| a.load(Ordering::Relaxed));
            if accepted == 0 {
                continue;
            }
            out.push(arrived.saturating_sub(accepted) as f64 / 1e6);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_slots_duplicates_and_strays() {
        let t = Tracker::new(3, 2, 6);
        t.accepted(1, 10);
        t.record(110, Some(1), Some(5), 100);
        t.record(120, Some(1), Some(5), 100);
        t.record(130, Some(1), Some(4), 100);
        t.record(140, Some(9), Some(0), 100);
        t.record(150, None, Some(0), 100);
        assert_eq!(t.delivered(), 2);
        assert_eq!(t.duplicates(), 1);
        assert_eq!(t.stray(), 2);
        assert_eq!(t.mean_body_len(), 100);
        assert_eq!(t.arrival_span(), Some((110, 130)));
        let mut l = t.latencies_ms();
        l.sort_by(f64::total_cmp);
        assert_eq!(l, vec![100.0 / 1e6, 120.0 / 1e6]);
    }

    #[test]
    fn parses_event_indexes() {
        assert_eq!(event_index("e42"), Some(42));
        assert_eq!(event_index("e"), None);
        assert_eq!(event_index("evt_x"), None);
    }
}
