//! The scenarios, and what they share: a hookrelay on a fresh database, webhook and event
//! generation, waiting for deliveries, and turning measurements into report fields.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use hookrelay_client::NewWebhook;

use crate::api::Api;
use crate::ceiling::{self, Ceiling};
use crate::cli::{PublishChoice, Scale};
use crate::database::{Backend, Database};
use crate::procfs::ProcStats;
use crate::publisher::{Event, Mode, PublishReport};
use crate::receiver::{Receiver, Tracker, Transport, WaitOutcome};
use crate::report::Report;
use crate::server::{Hookrelay, Launch};
use crate::stats::{Percentiles, rate};

mod backlog;
mod dashboard;
mod fanout;
mod hosts;
mod isolation;
mod latency;
mod log_fill;
mod nodes;
mod throughput;
mod tls;

/// A scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// One-to-one deliveries as fast as possible.
    Throughput,
    /// `Throughput` over HTTPS.
    Tls,
    /// HTTPS to 2,000 host names.
    Hosts,
    /// Every event to 1,000 webhooks.
    Fanout,
    /// Latency at a steady, moderate rate.
    Latency,
    /// Healthy webhooks beside hanging ones.
    Isolation,
    /// A queued backlog, then its drain.
    Backlog,
    /// The dashboard's pages with a large delivery log.
    Dashboard,
    /// A backlog drained by 1, 2 and 3 worker nodes (PostgreSQL).
    Nodes,
}

impl Scenario {
    /// Every scenario, in the order `all` runs them.
    pub const ALL: [Scenario; 9] = [
        Scenario::Throughput,
        Scenario::Tls,
        Scenario::Hosts,
        Scenario::Fanout,
        Scenario::Latency,
        Scenario::Isolation,
        Scenario::Backlog,
        Scenario::Dashboard,
        Scenario::Nodes,
    ];

    /// The scenario's name, as printed in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Throughput => "throughput",
            Scenario::Tls => "tls",
            Scenario::Hosts => "hosts",
            Scenario::Fanout => "fanout",
            Scenario::Latency => "latency",
            Scenario::Isolation => "isolation",
            Scenario::Backlog => "backlog",
            Scenario::Dashboard => "dashboard",
            Scenario::Nodes => "nodes",
        }
    }

    /// Whether the scenario applies to `backend`: several nodes need PostgreSQL.
    pub fn runs_on(self, backend: &Backend) -> bool {
        self != Scenario::Nodes || matches!(backend, Backend::Postgres { .. })
    }

    /// Runs the scenario once.
    pub async fn run(self, ctx: &Ctx, run: u32) -> anyhow::Result<Report> {
        let mut report = Report::new(self.name(), ctx.backend.name(), ctx.scale.name(), run);
        match self {
            Scenario::Throughput => throughput::run(ctx, &mut report).await?,
            Scenario::Tls => tls::run(ctx, &mut report).await?,
            Scenario::Hosts => hosts::run(ctx, &mut report).await?,
            Scenario::Fanout => fanout::run(ctx, &mut report).await?,
            Scenario::Latency => latency::run(ctx, &mut report).await?,
            Scenario::Isolation => isolation::run(ctx, &mut report).await?,
            Scenario::Backlog => backlog::run(ctx, &mut report).await?,
            Scenario::Dashboard => dashboard::run(ctx, &mut report).await?,
            Scenario::Nodes => nodes::run(ctx, &mut report).await?,
        }
        Ok(report)
    }
}

/// What every scenario run needs.
pub struct Ctx {
    /// The hookrelay binary.
    pub bin: PathBuf,
    /// Where hookrelay stores its data.
    pub backend: Backend,
    /// Problem sizes.
    pub scale: Scale,
    /// The receiver, shared by all runs.
    pub receiver: Arc<Receiver>,
    /// How to publish the bulk scenarios.
    pub publish: PublishChoice,
}

/// Starts hookrelay on `db`, its log in `<db dir>/<log_name>`.
async fn start_server(
    ctx: &Ctx,
    db: &Database,
    deliver: bool,
    log_name: &str,
) -> anyhow::Result<(Hookrelay, Api)> {
    start_server_over(ctx, db, deliver, log_name, Transport::Plain).await
}

/// [`start_server`] for deliveries over `transport`: over TLS, hookrelay trusts the bench's CA
/// (`extra_root_certificates`); for `hosts`, it resolves the webhooks' host names to the
/// receiver (`resolve`).
async fn start_server_over(
    ctx: &Ctx,
    db: &Database,
    deliver: bool,
    log_name: &str,
    transport: Transport,
) -> anyhow::Result<(Hookrelay, Api)> {
    let log = db.dir().join(log_name);
    let resolve = format!("*.{}=127.0.0.1", crate::tls::HOSTS_DOMAIN);
    let env: &[(&str, &str)] = match transport {
        Transport::Hosts => &[("HOOKRELAY_RESOLVE", &resolve)],
        Transport::Plain | Transport::Tls => &[],
    };
    let launch = Launch {
        bin: &ctx.bin,
        database_url: &db.url,
        deliver,
        role: None,
        log: &log,
        extra_root_certificates: transport.tls().then_some(ctx.receiver.tls.ca_pem.as_path()),
    };
    let server = Hookrelay::start_with(&launch, env).await?;
    let api = Api::new(&server.base_url)?;
    Ok((server, api))
}

/// The publishing mode for a bulk scenario, as chosen with `--publish` and offered by the server.
async fn publish_mode(ctx: &Ctx, api: &Api) -> anyhow::Result<Mode> {
    match ctx.publish {
        PublishChoice::Single => Ok(Mode::Single),
        PublishChoice::Batch => {
            if api.has_batch().await? {
                Ok(Mode::Batch)
            } else {
                bail!("--publish batch: this hookrelay has no POST /v1/events/batch")
            }
        }
        PublishChoice::Auto => Ok(if api.has_batch().await? {
            Mode::Batch
        } else {
            Mode::Single
        }),
    }
}

/// A webhook for `url` subscribed to `event_type`.
fn webhook(url: String, event_type: &str) -> NewWebhook {
    NewWebhook {
        events: Some(vec![event_type.to_owned()]),
        ..NewWebhook::new(url)
    }
}

/// `count` event type names `<prefix><n>`.
fn type_names(prefix: &str, count: usize) -> Vec<Arc<str>> {
    (0..count)
        .map(|n| Arc::from(format!("{prefix}{n}")))
        .collect()
}

/// Waits for `tracker`'s expected deliveries, giving up after 2 minutes plus 2 ms per
/// expected delivery, after a minute without progress, or when the server exits.
async fn wait_for(tracker: &Tracker, server: &mut Hookrelay, expected: u64) -> WaitOutcome {
    let overall = Duration::from_millis(120_000 + 2 * expected);
    tracker
        .wait(overall, Duration::from_secs(60), || {
            server.check_alive().is_ok()
        })
        .await
}

/// Publishing figures: mode, events/s accepted, errors.
fn record_publish(report: &mut Report, publish: &PublishReport, mode: Mode) {
    report
        .set("publish_mode", mode.name())
        .set_f("publish_rate", publish.rate(), 1)
        .set("publish_errors", publish.errors);
    if let Some(e) = &publish.first_error {
        eprintln!("  publish error ({} in all): {e}", publish.errors);
    }
}

/// Round trips of the publish requests.
fn record_publish_latency(report: &mut Report, publish: &mut PublishReport) {
    if let Some(p) = Percentiles::of(&mut publish.round_trips_ms) {
        report
            .set_f("publish_p50_ms", p.p50, 2)
            .set_f("publish_p99_ms", p.p99, 2);
    }
}

/// Delivery figures: count, missing, duplicates, rate from `from_ns` to the last arrival, and
/// publish→arrival latency. Returns the rate.
fn record_delivery(
    report: &mut Report,
    tracker: &Tracker,
    outcome: WaitOutcome,
    from_ns: u64,
) -> f64 {
    let rate = tracker.arrival_span().map_or(0.0, |(_, last)| {
        rate(outcome.delivered, last.saturating_sub(from_ns))
    });
    report
        .set("deliveries", outcome.delivered)
        .set("missing", outcome.missing)
        .set("duplicates", tracker.duplicates())
        .set("stray", tracker.stray())
        .set_f("delivery_rate", rate, 1);
    rate
}

/// Latency percentiles of `tracker`'s deliveries; with `detail`, p90 and p99.9 too.
fn record_latency(report: &mut Report, tracker: &Tracker, detail: bool) {
    if let Some(p) = Percentiles::of(&mut tracker.latencies_ms()) {
        report
            .set_f("p50_ms", p.p50, 2)
            .set_f("p99_ms", p.p99, 2)
            .set_f("max_ms", p.max, 2);
        if detail {
            report.set_f("p90_ms", p.p90, 2).set_f("p999_ms", p.p999, 2);
        }
    }
}

/// hookrelay's peak RSS and the CPU it used between `before` and `after`.
fn record_process(report: &mut Report, before: ProcStats, after: ProcStats) {
    report
        .set_f("peak_rss_mb", after.hwm_kb as f64 / 1024.0, 1)
        .set_f("cpu_s", after.cpu_s - before.cpu_s, 2);
}

/// Measures the ceiling for `requests` requests to `webhooks` webhooks with the body size seen
/// in `tracker`, and records it with hookrelay's `rate` as a fraction of it.
async fn record_ceiling(
    ctx: &Ctx,
    report: &mut Report,
    tracker: &Tracker,
    requests: u64,
    webhooks: usize,
    rate: f64,
) -> anyhow::Result<Ceiling> {
    record_ceiling_over(
        ctx,
        report,
        tracker,
        Transport::Plain,
        requests,
        webhooks,
        rate,
    )
    .await
}

/// [`record_ceiling`] with the bare client reaching the receiver over `transport`.
async fn record_ceiling_over(
    ctx: &Ctx,
    report: &mut Report,
    tracker: &Tracker,
    transport: Transport,
    requests: u64,
    webhooks: usize,
    rate: f64,
) -> anyhow::Result<Ceiling> {
    // Before any delivery arrived there is no body to copy; 400 bytes is about an envelope.
    let body_len = match tracker.mean_body_len() {
        0 => 400,
        n => n,
    };
    let ceiling = ceiling::measure(
        &ctx.receiver,
        transport,
        requests as usize,
        webhooks,
        body_len,
    )
    .await?;
    report
        .set_f("ceiling_rate", ceiling.rate, 1)
        .set_f(
            "ratio",
            if ceiling.rate > 0.0 {
                rate / ceiling.rate
            } else {
                0.0
            },
            3,
        )
        .set("body_bytes", body_len);
    if ceiling.missing > 0 {
        eprintln!(
            "  warning: {} ceiling requests did not arrive",
            ceiling.missing
        );
    }
    Ok(ceiling)
}

/// The events `0..count`, event `i` of type `types[i % types.len()]`.
fn round_robin(count: usize, types: &[Arc<str>]) -> Arc<[Event]> {
    (0..count)
        .map(|index| Event {
            index,
            event_type: types[index % types.len()].clone(),
        })
        .collect()
}
