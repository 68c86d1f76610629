//! `nodes` (PostgreSQL only): an API node (`--role api`) fills a backlog of 200,000 deliveries
//! (2,000 events to 100 webhooks) while nobody delivers, then 1, 2 and 3 worker nodes
//! (`--role worker`, separate processes) start together and drain it; each configuration on a
//! fresh database with the same backlog. Reports each configuration's drain rate (first
//! arrival to last), the rates of 2 and 3 nodes as fractions of one node's, the duplicates and
//! missing deliveries over all configurations (there is no kill, so any duplicate is a bug), and
//! the CPU time the database server's processes spent in each drain.
//!
//! On a machine with fewer cores than nodes the extra nodes cannot add speed; what the figures
//! show there is what coordination costs (claims that collide, leases written per row).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::bail;

use super::{Ctx, publish_mode, record_publish, round_robin, webhook};
use crate::api::Api;
use crate::database::{Backend, Database};
use crate::publisher::publish_all;
use crate::receiver::{Tracker, WaitOutcome};
use crate::report::Report;
use crate::server::{Hookrelay, Launch};
use crate::stats::rate;

/// The worker-node counts, in the order they run.
const NODE_COUNTS: [usize; 3] = [1, 2, 3];

/// Runs the scenario once, filling `report`.
pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    if !matches!(ctx.backend, Backend::Postgres { .. }) {
        bail!("`nodes` runs on PostgreSQL only (SQLite takes one node)");
    }
    let webhooks = ctx.scale.pick(100, 20);
    let events = ctx.scale.pick(2_000, 250);
    let expected = (webhooks * events) as u64;
    report.set("events", events).set("webhooks", webhooks);

    let (mut missing, mut duplicates) = (0, 0);
    let mut one_node_rate = 0.0;
    for nodes in NODE_COUNTS {
        let db = Database::create(&ctx.backend)?;
        let server = start_node(ctx, &db, "api", "api.log").await?;
        let api = Api::new(&server.base_url)?;
        api.create_webhooks(
            (0..webhooks)
                .map(|n| webhook(ctx.receiver.url(n), "bench.nodes"))
                .collect(),
        )
        .await?;
        let mode = publish_mode(ctx, &api).await?;
        let tracker = ctx.receiver.track(events, webhooks, expected);
        let publish = publish_all(
            &api,
            &tracker,
            round_robin(events, &["bench.nodes".into()]),
            mode,
        )
        .await;
        if nodes == 1 {
            record_publish(report, &publish, mode);
        }

        let db_cpu_before = database_server_cpu();
        let mut workers = Vec::with_capacity(nodes);
        for n in 0..nodes {
            workers.push(start_node(ctx, &db, "worker", &format!("worker-{n}.log")).await?);
        }
        let outcome = tracker
            .wait(
                Duration::from_millis(120_000 + 2 * expected),
                Duration::from_secs(60),
                || workers.iter_mut().all(|w| w.check_alive().is_ok()),
            )
            .await;
        // Read before the workers stop: their connections' backends exit with them.
        let db_cpu_s = database_server_cpu().since(&db_cpu_before);
        // Let a late duplicate arrive before it is counted.
        tokio::time::sleep(Duration::from_millis(200)).await;
        for worker in workers {
            worker.stop().await?;
        }
        server.stop().await?;

        let drain_rate = drain_rate(&tracker, outcome);
        if nodes == 1 {
            one_node_rate = drain_rate;
        }
        missing += outcome.missing;
        duplicates += tracker.duplicates();
        report.set_f(&format!("rate_{nodes}"), drain_rate, 1).set_f(
            &format!("db_cpu_s_{nodes}"),
            db_cpu_s,
            2,
        );
        if nodes > 1 && one_node_rate > 0.0 {
            report.set_f(&format!("ratio_{nodes}"), drain_rate / one_node_rate, 3);
        }
    }
    report
        .set("deliveries", expected * NODE_COUNTS.len() as u64 - missing)
        .set("missing", missing)
        .set("duplicates", duplicates);
    Ok(())
}

/// A node in `role` on `db`, its log in `<db dir>/<log_name>`.
async fn start_node(
    ctx: &Ctx,
    db: &Database,
    role: &str,
    log_name: &str,
) -> anyhow::Result<Hookrelay> {
    Hookrelay::start(&Launch {
        bin: &ctx.bin,
        database_url: &db.url,
        deliver: true,
        role: Some(role),
        log: &db.dir().join(log_name),
        extra_root_certificates: None,
    })
    .await
}

/// Deliveries per second from the first arrival to the last.
fn drain_rate(tracker: &Tracker, outcome: WaitOutcome) -> f64 {
    tracker
        .arrival_span()
        .map_or(0.0, |(first, last)| rate(outcome.delivered, last - first))
}

/// CPU time of every process named `postgres` on this machine, by pid: the database server
/// the bench runs against is local (its URL is `127.0.0.1`); elsewhere this reads nothing.
struct ServerCpu(HashMap<u32, f64>);

impl ServerCpu {
    /// Seconds used since `before`; a backend started since counts from zero, one that exited
    /// in between is lost (the workers' pooled connections live through the drain).
    fn since(&self, before: &ServerCpu) -> f64 {
        self.0
            .iter()
            .map(|(pid, cpu)| cpu - before.0.get(pid).copied().unwrap_or(0.0))
            .sum()
    }
}

fn database_server_cpu() -> ServerCpu {
    let mut by_pid = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return ServerCpu(by_pid);
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == "postgres"
            && let Ok(stats) = crate::procfs::read(pid)
        {
            by_pid.insert(pid, stats.cpu_s);
        }
    }
    ServerCpu(by_pid)
}
