//! `throughput`: 100 webhooks, 100,000 events, each event to exactly one webhook (webhook `n`
//! subscribes to `bench.t<n>`; event `i` has type `bench.t<i % 100>`). Publish rate, delivery
//! rate from the first publish to the last arrival, latency, peak RSS and CPU.

use super::{
    Ctx, publish_mode, record_ceiling_over, record_delivery, record_latency, record_process,
    record_publish, record_publish_latency, round_robin, start_server_over, type_names, wait_for,
    webhook,
};
use crate::database::Database;
use crate::publisher::publish_all;
use crate::receiver::Transport;
use crate::report::Report;

/// Runs the scenario once, filling `report`.
pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    run_over(ctx, report, Transport::Plain).await
}

/// Runs the scenario once with every webhook reached over `transport`, and the ceiling's bare
/// client too.
pub async fn run_over(ctx: &Ctx, report: &mut Report, transport: Transport) -> anyhow::Result<()> {
    let webhooks = ctx.scale.pick(100, 10);
    let events = ctx.scale.pick(100_000, 5_000);
    let db = Database::create(&ctx.backend)?;
    let (mut server, api) = start_server_over(ctx, &db, true, "hookrelay.log", transport).await?;
    let types = type_names("bench.t", webhooks);
    api.create_webhooks(
        (0..webhooks)
            .map(|n| webhook(ctx.receiver.url_over(transport, n), &types[n]))
            .collect(),
    )
    .await?;
    let mode = publish_mode(ctx, &api).await?;
    let tracker = ctx.receiver.track(events, 1, events as u64);

    let before = server.stats()?;
    let mut publish = publish_all(&api, &tracker, round_robin(events, &types), mode).await;
    let outcome = wait_for(&tracker, &mut server, events as u64).await;
    let after = server.stop().await?;

    report.set("events", events).set("webhooks", webhooks);
    record_publish(report, &publish, mode);
    record_publish_latency(report, &mut publish);
    let rate = record_delivery(report, &tracker, outcome, publish.started_ns);
    record_latency(report, &tracker, false);
    record_process(report, before, after);
    record_ceiling_over(
        ctx,
        report,
        &tracker,
        transport,
        events as u64,
        webhooks,
        rate,
    )
    .await?;
    Ok(())
}
