//! `backlog`: the receiver is "down" while 1,000,000 deliveries (10,000 events to 100 webhooks)
//! queue up: hookrelay runs with `HOOKRELAY_DELIVER=false`, so it stores without sending. Then
//! it is restarted on the same database with delivery on, and the queue drains. Reports RSS
//! during the fill and during the drain (VmRSS sampled every 100 ms) and the drain rate, from
//! the first arrival to the last.

use super::{
    Ctx, publish_mode, record_ceiling, record_delivery, record_process, record_publish,
    round_robin, start_server, wait_for, webhook,
};
use crate::database::Database;
use crate::procfs::RssSampler;
use crate::publisher::publish_all;
use crate::report::Report;

/// Runs the scenario once, filling `report`.
pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let webhooks = ctx.scale.pick(100, 20);
    let events = ctx.scale.pick(10_000, 1_000);
    let expected = (webhooks * events) as u64;
    let db = Database::create(&ctx.backend)?;

    // Fill: API only.
    let (server, api) = start_server(ctx, &db, false, "fill.log").await?;
    api.create_webhooks(
        (0..webhooks)
            .map(|n| webhook(ctx.receiver.url(n), "bench.backlog"))
            .collect(),
    )
    .await?;
    let mode = publish_mode(ctx, &api).await?;
    let tracker = ctx.receiver.track(events, webhooks, expected);
    let sampler = RssSampler::start(server.pid);
    let publish = publish_all(
        &api,
        &tracker,
        round_robin(events, &["bench.backlog".into()]),
        mode,
    )
    .await;
    let fill_ns = publish.finished_ns.saturating_sub(publish.started_ns);
    let rss_fill_kb = sampler.finish(server.pid).await;
    let fill = server.stop().await?;
    if tracker.delivered() > 0 {
        eprintln!(
            "  warning: {} deliveries arrived while delivery was off",
            tracker.delivered()
        );
    }

    // Drain: the same database, delivery on.
    let (mut server, _api) = start_server(ctx, &db, true, "drain.log").await?;
    let spawned_ns = tracker.ns_at(server.spawned);
    let sampler = RssSampler::start(server.pid);
    let before = Default::default();
    let outcome = wait_for(&tracker, &mut server, expected).await;
    let rss_drain_kb = sampler.finish(server.pid).await;
    let drain = server.stop().await?;

    report
        .set("events", events)
        .set("webhooks", webhooks)
        .set_f("fill_s", fill_ns as f64 / 1e9, 2)
        .set_f(
            "fill_rate",
            crate::stats::rate(publish.accepted * webhooks as u64, fill_ns),
            1,
        );
    record_publish(report, &publish, mode);
    let first_ns = tracker.arrival_span().map_or(0, |(first, _)| first);
    let rate = record_delivery(report, &tracker, outcome, first_ns);
    record_process(report, before, drain);
    report
        .set_f(
            "peak_rss_mb",
            fill.hwm_kb.max(drain.hwm_kb) as f64 / 1024.0,
            1,
        )
        .set_f("rss_fill_mb", rss_fill_kb as f64 / 1024.0, 1)
        .set_f("rss_drain_mb", rss_drain_kb as f64 / 1024.0, 1)
        .set_f(
            "startup_to_first_ms",
            first_ns.saturating_sub(spawned_ns) as f64 / 1e6,
            1,
        );
    record_ceiling(ctx, report, &tracker, expected, webhooks, rate).await?;
    Ok(())
}
