//! `hosts`: 2,000 webhooks, each on a host name of its own (`h<n>.hosts.bench.test`, all the
//! receiver's TLS listener: its certificate names `*.hosts.bench.test`, hookrelay resolves the
//! names to 127.0.0.1 through its `resolve` setting and sends each name as SNI), HTTPS, 40,000
//! events spread evenly (event `i` to webhook `i % 2,000`, so 20 deliveries a host). Few
//! deliveries share a connection, so what it measures is what a host costs: connection set-up,
//! TLS handshakes, session resumption, name resolution and per-host bookkeeping. The ceiling is
//! the bare TLS client sending the same requests to the same names over 64 request loops.
//!
//! Beyond the common figures: `hosts`, `failed_attempts` (hookrelay's own count of attempts
//! that did not get a 2xx, read from its `/metrics`: must be 0), `first_attempt_ok`, and the
//! receiver's TLS handshakes during hookrelay's run (`handshakes`, of which `resumed`).

use std::time::Duration;

use anyhow::Context;

use super::{
    Ctx, publish_mode, record_ceiling_over, record_delivery, record_latency, record_process,
    record_publish, record_publish_latency, round_robin, start_server_over, type_names, wait_for,
    webhook,
};
use crate::database::Database;
use crate::publisher::publish_all;
use crate::receiver::Transport;
use crate::report::Report;
use crate::server::{ADMIN_KEY, Hookrelay};

/// Runs the scenario once, filling `report`.
pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    // Small: 100 names, 10 deliveries each. CI runs it on the debug build, where each TLS
    // handshake (ring unoptimised) costs milliseconds of CPU.
    let hosts = ctx.scale.pick(2_000, 100);
    let events = ctx.scale.pick(40_000, 1_000);
    let db = Database::create(&ctx.backend)?;
    let (mut server, api) =
        start_server_over(ctx, &db, true, "hookrelay.log", Transport::Hosts).await?;
    let types = type_names("bench.h", hosts);
    api.create_webhooks(
        (0..hosts)
            .map(|n| webhook(ctx.receiver.url_over(Transport::Hosts, n), &types[n]))
            .collect(),
    )
    .await?;
    let mode = publish_mode(ctx, &api).await?;
    let tracker = ctx.receiver.track(events, 1, events as u64);

    let handshakes_before = ctx.receiver.handshakes.read();
    let before = server.stats()?;
    let mut publish = publish_all(&api, &tracker, round_robin(events, &types), mode).await;
    let outcome = wait_for(&tracker, &mut server, events as u64).await;
    let failed = failed_attempts(&server).await?;
    let (completed, resumed) = ctx.receiver.handshakes.read();
    let after = server.stop().await?;

    report.set("events", events).set("hosts", hosts);
    record_publish(report, &publish, mode);
    record_publish_latency(report, &mut publish);
    let rate = record_delivery(report, &tracker, outcome, publish.started_ns);
    record_latency(report, &tracker, false);
    record_process(report, before, after);
    report
        .set("failed_attempts", failed)
        .set(
            "first_attempt_ok",
            failed == 0 && outcome.missing == 0 && tracker.duplicates() == 0,
        )
        .set("handshakes", completed - handshakes_before.0)
        .set("resumed", resumed - handshakes_before.1);
    record_ceiling_over(
        ctx,
        report,
        &tracker,
        Transport::Hosts,
        events as u64,
        hosts,
        rate,
    )
    .await?;
    Ok(())
}

/// Attempts that got no 2xx, by hookrelay's own `hookrelay_attempts_total` (every `result`
/// label but `2xx`).
async fn failed_attempts(server: &Hookrelay) -> anyhow::Result<u64> {
    let text = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?
        .get(format!("{}/metrics", server.base_url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .context("reading hookrelay's /metrics")?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter_map(|line| line.strip_prefix("hookrelay_attempts_total{"))
        .filter(|rest| !rest.contains("result=\"2xx\""))
        .filter_map(|rest| rest.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64)
}
