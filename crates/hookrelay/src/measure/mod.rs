//! Prometheus metrics: what each app records and `/metrics` renders.
//!
//! Invariants:
//! - Each [`Metrics`] owns its own recorder, never installed as the process's global one, and
//!   everything records through handles registered once in [`Metrics::new`] and passed down
//!   (the publisher, the dispatcher, the recorder), not through the `metrics` macros' global
//!   registry. A process runs one app in production, but the integration tests run many apps
//!   in one process at once, and each must report only what it did: with a global recorder a
//!   test could check deltas at best, never exact values.
//! - The hot path (publish, send, record) only updates those handles: atomic operations on
//!   counters and gauges, no lookup by name, no lock, no query. The latency histogram's sample
//!   buffer is lock-free too; it allocates a block once per many samples, drained by
//!   [`Exporter`]'s upkeep and at each scrape.
//! - Whatever needs a query or a lock (the queue's depth, the per-host backlog) is sampled
//!   when a scrape comes, at most once per `metrics_refresh_ms` ([`exporter`]).

mod exporter;

use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use exporter::{Exporter, HostBacklog, HostQueues};

use crate::store::DisabledReason;

/// Events whose publish committed (repeats of an id already published are not counted).
pub const EVENTS_PUBLISHED: &str = "hookrelay_events_published_total";
/// Deliveries that reached a final status, by `status` (`succeeded`, `failed`).
pub const DELIVERIES_FINISHED: &str = "hookrelay_deliveries_finished_total";
/// Attempts made, by `result` ([`AttemptClass::label`]).
pub const ATTEMPTS: &str = "hookrelay_attempts_total";
/// How long attempts took, in seconds.
pub const ATTEMPT_DURATION: &str = "hookrelay_attempt_duration_seconds";
/// Attempts being sent by this node.
pub const IN_FLIGHT: &str = "hookrelay_attempts_in_flight";
/// Webhooks disabled by this node's recorder, by `reason` (`failing`, `gone`).
pub const WEBHOOKS_DISABLED: &str = "hookrelay_webhooks_disabled_total";
/// Pending deliveries due now (the database's view: in-memory leases still count as due).
pub const QUEUE_DUE: &str = "hookrelay_queue_due";
/// Pending deliveries due later: retries, and leases written into their rows.
pub const QUEUE_SCHEDULED: &str = "hookrelay_queue_scheduled";
/// How long the oldest due delivery has been due, in seconds (0 when none is).
pub const QUEUE_OLDEST_DUE: &str = "hookrelay_queue_oldest_due_seconds";
/// Hosts with deliveries waiting in this node's per-host queue.
pub const HOSTS_BACKLOGGED: &str = "hookrelay_hosts_backlogged";
/// The longest per-host queue on this node.
pub const HOST_QUEUE_LONGEST: &str = "hookrelay_host_queue_longest";
/// Always 1, labelled with the `version` running.
pub const BUILD_INFO: &str = "hookrelay_build_info";
/// Always 1, labelled with this node's `role`: `all` (API and delivery) or `api`.
pub const NODE_ROLE: &str = "hookrelay_node_role";

/// Attempt duration buckets, in seconds: healthy receivers answer in milliseconds, and the
/// longest attempt timeout is 30 s, so the buckets span both.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How an attempt ended, as the `result` label of [`ATTEMPTS`] counts it: the response's
/// status class, or why no (whole) response came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptClass {
    /// A 2xx response.
    Status2xx,
    /// A 3xx response (redirects are not followed).
    Status3xx,
    /// A 4xx response.
    Status4xx,
    /// A 5xx response.
    Status5xx,
    /// No response within the webhook's timeout.
    Timeout,
    /// No connection could be made (refused, unreachable).
    Connect,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The address guard refused every address of the host.
    RefusedAddress,
    /// Anything else: a connection broken mid-request, a body that could not be rendered.
    Other,
    /// A broker acknowledged the message (docs/brokers.md): a broker's success.
    Acked,
    /// A broker answered but did not take the message.
    Rejected,
}

impl AttemptClass {
    /// Every class, in the order [`Metrics`] keeps their counters.
    pub const ALL: [AttemptClass; 12] = [
        Self::Status2xx,
        Self::Status3xx,
        Self::Status4xx,
        Self::Status5xx,
        Self::Timeout,
        Self::Connect,
        Self::Dns,
        Self::Tls,
        Self::RefusedAddress,
        Self::Other,
        Self::Acked,
        Self::Rejected,
    ];

    /// The `result` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Status2xx => "2xx",
            Self::Status3xx => "3xx",
            Self::Status4xx => "4xx",
            Self::Status5xx => "5xx",
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Dns => "dns",
            Self::Tls => "tls",
            Self::RefusedAddress => "refused_address",
            Self::Other => "other",
            Self::Acked => "acked",
            Self::Rejected => "rejected",
        }
    }

    /// The class of an answered attempt.
    pub fn of_status(status: u16) -> Self {
        match status {
            200..=299 => Self::Status2xx,
            300..=399 => Self::Status3xx,
            400..=499 => Self::Status4xx,
            500..=599 => Self::Status5xx,
            _ => Self::Other,
        }
    }
}

/// This app's metrics: its own registry and the handles everything records through.
pub struct Metrics {
    handle: PrometheusHandle,
    events_published: Counter,
    succeeded: Counter,
    failed: Counter,
    /// One per [`AttemptClass::ALL`], in that order.
    attempts: [Counter; AttemptClass::ALL.len()],
    duration: Histogram,
    in_flight: Gauge,
    disabled_failing: Counter,
    disabled_gone: Counter,
    queue_due: Gauge,
    queue_scheduled: Gauge,
    queue_oldest_due: Gauge,
    hosts_backlogged: Gauge,
    host_queue_longest: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered (so each shows from the first scrape),
    /// for a node in `role` (`all` or `api`).
    pub fn new(role: &'static str) -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(ATTEMPT_DURATION.to_owned()), DURATION_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        // The macros register with the recorder given here; the handles they return outlive
        // the call and update this registry only.
        metrics::with_local_recorder(&recorder, || {
            describe();
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            metrics::gauge!(NODE_ROLE, "role" => role).set(1.0);
            Metrics {
                handle,
                events_published: metrics::counter!(EVENTS_PUBLISHED),
                succeeded: metrics::counter!(DELIVERIES_FINISHED, "status" => "succeeded"),
                failed: metrics::counter!(DELIVERIES_FINISHED, "status" => "failed"),
                attempts: AttemptClass::ALL
                    .map(|class| metrics::counter!(ATTEMPTS, "result" => class.label())),
                duration: metrics::histogram!(ATTEMPT_DURATION),
                in_flight: metrics::gauge!(IN_FLIGHT),
                disabled_failing: metrics::counter!(WEBHOOKS_DISABLED, "reason" => "failing"),
                disabled_gone: metrics::counter!(WEBHOOKS_DISABLED, "reason" => "gone"),
                queue_due: metrics::gauge!(QUEUE_DUE),
                queue_scheduled: metrics::gauge!(QUEUE_SCHEDULED),
                queue_oldest_due: metrics::gauge!(QUEUE_OLDEST_DUE),
                hosts_backlogged: metrics::gauge!(HOSTS_BACKLOGGED),
                host_queue_longest: metrics::gauge!(HOST_QUEUE_LONGEST),
            }
        })
    }

    /// `n` events were published (committed).
    pub fn events_published(&self, n: usize) {
        self.events_published.increment(n as u64);
    }

    /// An attempt ended as `class` after `took`.
    pub fn attempt(&self, class: AttemptClass, took: Duration) {
        self.attempts[class as usize].increment(1);
        self.duration.record(took.as_secs_f64());
    }

    /// A delivery reached its final status: succeeded, or failed for good.
    pub fn delivery_finished(&self, succeeded: bool) {
        if succeeded {
            self.succeeded.increment(1);
        } else {
            self.failed.increment(1);
        }
    }

    /// Counts an attempt in flight until the guard drops.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.increment(1.0);
        InFlight(&self.in_flight)
    }

    /// Recording attempts disabled a webhook.
    pub fn webhook_disabled(&self, reason: DisabledReason) {
        match reason {
            DisabledReason::Failing => self.disabled_failing.increment(1),
            DisabledReason::Gone => self.disabled_gone.increment(1),
        }
    }
}

/// An attempt in flight; dropping it counts it out, however the attempt ends.
pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(EVENTS_PUBLISHED, "Events whose publish committed.");
    describe_counter!(
        DELIVERIES_FINISHED,
        "Deliveries that reached a final status."
    );
    describe_counter!(ATTEMPTS, "Delivery attempts, by result.");
    describe_histogram!(
        ATTEMPT_DURATION,
        Unit::Seconds,
        "How long delivery attempts took."
    );
    describe_gauge!(IN_FLIGHT, "Delivery attempts being sent by this node.");
    describe_counter!(
        WEBHOOKS_DISABLED,
        "Webhooks disabled by this node for failing, by reason."
    );
    describe_gauge!(QUEUE_DUE, "Pending deliveries due now.");
    describe_gauge!(QUEUE_SCHEDULED, "Pending deliveries due later.");
    describe_gauge!(
        QUEUE_OLDEST_DUE,
        Unit::Seconds,
        "How long the oldest due delivery has been due."
    );
    describe_gauge!(
        HOSTS_BACKLOGGED,
        "Hosts with deliveries waiting in this node's per-host queues."
    );
    describe_gauge!(
        HOST_QUEUE_LONGEST,
        "The longest of this node's per-host queues."
    );
    describe_gauge!(BUILD_INFO, "Always 1, labelled with the version.");
    describe_gauge!(NODE_ROLE, "Always 1, labelled with this node's role.");
}
