//! `latency`: a steady 500 events/s for 30 s, one event per request on schedule (an open loop),
//! each to one of 10 webhooks in turn: publish→arrival percentiles at moderate load.

use super::{
    Ctx, record_delivery, record_latency, record_process, record_publish, record_publish_latency,
    round_robin, start_server, type_names, wait_for, webhook,
};
use crate::database::Database;
use crate::publisher::{Mode, publish_paced};
use crate::report::Report;

/// Runs the scenario once, filling `report`.
pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let webhooks = 10;
    let per_second = ctx.scale.pick(500, 200);
    let seconds = ctx.scale.pick(30, 5);
    let events = per_second * seconds;
    let db = Database::create(&ctx.backend)?;
    let (mut server, api) = start_server(ctx, &db, true, "hookrelay.log").await?;
    let types = type_names("bench.t", webhooks);
    api.create_webhooks(
        (0..webhooks)
            .map(|n| webhook(ctx.receiver.url(n), &types[n]))
            .collect(),
    )
    .await?;
    let tracker = ctx.receiver.track(events, 1, events as u64);

    let before = server.stats()?;
    let mut publish = publish_paced(
        &api,
        &tracker,
        round_robin(events, &types),
        per_second as f64,
    )
    .await;
    let outcome = wait_for(&tracker, &mut server, events as u64).await;
    let after = server.stop().await?;

    report
        .set("events", events)
        .set("webhooks", webhooks)
        .set("target_rate", per_second)
        .set("duration_s", seconds);
    record_publish(report, &publish, Mode::Single);
    record_publish_latency(report, &mut publish);
    record_delivery(report, &tracker, outcome, publish.started_ns);
    record_latency(report, &tracker, true);
    record_process(report, before, after);
    Ok(())
}
