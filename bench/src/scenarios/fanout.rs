//! `fanout`: 1,000 webhooks, all on the one receiver host and all subscribed to one event type;
//! 1,000 events, so 1,000,000 deliveries. Besides the rates, whether every delivery arrived on
//! its first attempt: the receiver counts every arrival beyond the first for an (event, webhook)
//! pair, and none may be missing.

use super::{
    Ctx, publish_mode, record_ceiling, record_delivery, record_latency, record_process,
    record_publish, round_robin, start_server, wait_for, webhook,
};
use crate::database::Database;
use crate::publisher::publish_all;
use crate::report::Report;

/// Runs the scenario once, filling `report`.
pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let webhooks = ctx.scale.pick(1_000, 100);
    let events = ctx.scale.pick(1_000, 100);
    let expected = (webhooks * events) as u64;
    let db = Database::create(&ctx.backend)?;
    let (mut server, api) = start_server(ctx, &db, true, "hookrelay.log").await?;
    api.create_webhooks(
        (0..webhooks)
            .map(|n| webhook(ctx.receiver.url(n), "bench.fanout"))
            .collect(),
    )
    .await?;
    let mode = publish_mode(ctx, &api).await?;
    let tracker = ctx.receiver.track(events, webhooks, expected);

    let before = server.stats()?;
    let publish = publish_all(
        &api,
        &tracker,
        round_robin(events, &["bench.fanout".into()]),
        mode,
    )
    .await;
    let outcome = wait_for(&tracker, &mut server, expected).await;
    let after = server.stop().await?;

    report.set("events", events).set("webhooks", webhooks);
    record_publish(report, &publish, mode);
    let rate = record_delivery(report, &tracker, outcome, publish.started_ns);
    record_latency(report, &tracker, false);
    record_process(report, before, after);
    report.set(
        "first_attempt_ok",
        outcome.missing == 0 && tracker.duplicates() == 0,
    );
    record_ceiling(ctx, report, &tracker, expected, webhooks, rate).await?;
    Ok(())
}
