//! `isolation`: 20 healthy webhooks under load beside 200 whose endpoints hang until hookrelay's
//! timeout (`timeout_seconds` 5, no retries). One event in 26 goes to a hanging webhook, the
//! rest to the healthy ones. The figure is the healthy webhooks' delivery rate as a fraction of
//! the same healthy stream without the hanging webhooks (run first, on its own database).
//!
//! The hanging endpoints are on the receiver's second listener, a different port and so a
//! different host as far as per-host connection limits go, as different customers' endpoints
//! would be.

use std::sync::Arc;

use hookrelay_client::NewWebhook;

use super::{
    Ctx, publish_mode, record_delivery, record_latency, record_process, record_publish,
    start_server, type_names, wait_for, webhook,
};
use crate::database::Database;
use crate::procfs::ProcStats;
use crate::publisher::{Event, Mode, PublishReport, publish_all};
use crate::receiver::{Tracker, WaitOutcome};
use crate::report::Report;

/// What one variant measured.
struct Variant {
    mode: Mode,
    publish: PublishReport,
    tracker: Arc<Tracker>,
    outcome: WaitOutcome,
    before: ProcStats,
    after: ProcStats,
    hanging_requests: u64,
}

/// Sizes of the scenario.
struct Sizes {
    healthy_webhooks: usize,
    hanging_webhooks: usize,
    /// Events in all, healthy and hanging.
    events: usize,
    /// Event `i` goes to a hanging webhook when `i % period == 0`.
    period: usize,
}

impl Sizes {
    fn is_hanging(&self, i: usize) -> bool {
        i.is_multiple_of(self.period)
    }

    fn hanging_events(&self) -> usize {
        self.events.div_ceil(self.period)
    }

    fn healthy_events(&self) -> usize {
        self.events - self.hanging_events()
    }
}

/// Runs the scenario once (both variants), filling `report`.
pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let sizes = Sizes {
        healthy_webhooks: ctx.scale.pick(20, 10),
        hanging_webhooks: ctx.scale.pick(200, 20),
        events: ctx.scale.pick(52_000, 4_200),
        period: ctx.scale.pick(26, 21),
    };
    eprintln!("  baseline: healthy webhooks only");
    let baseline = variant(ctx, &sizes, false).await?;
    eprintln!("  with {} hanging webhooks", sizes.hanging_webhooks);
    let loaded = variant(ctx, &sizes, true).await?;

    report
        .set("events", sizes.events)
        .set("healthy_webhooks", sizes.healthy_webhooks)
        .set("hanging_webhooks", sizes.hanging_webhooks)
        .set("healthy_events", sizes.healthy_events())
        .set("hanging_events", sizes.hanging_events());
    record_publish(report, &loaded.publish, loaded.mode);
    let base_rate = record_delivery(
        report,
        &baseline.tracker,
        baseline.outcome,
        baseline.publish.started_ns,
    );
    let rate = record_delivery(
        report,
        &loaded.tracker,
        loaded.outcome,
        loaded.publish.started_ns,
    );
    record_latency(report, &loaded.tracker, false);
    record_process(report, loaded.before, loaded.after);
    report
        .set("missing", baseline.outcome.missing + loaded.outcome.missing)
        .set(
            "duplicates",
            baseline.tracker.duplicates() + loaded.tracker.duplicates(),
        )
        .set(
            "publish_errors",
            baseline.publish.errors + loaded.publish.errors,
        )
        .set("hanging_requests", loaded.hanging_requests)
        .set_f("baseline_rate", base_rate, 1)
        .set_f(
            "isolation_ratio",
            if base_rate > 0.0 {
                rate / base_rate
            } else {
                0.0
            },
            3,
        );
    Ok(())
}

/// One run on a fresh database: the healthy stream, with or without the hanging webhooks and
/// their events.
async fn variant(ctx: &Ctx, sizes: &Sizes, with_hanging: bool) -> anyhow::Result<Variant> {
    let db = Database::create(&ctx.backend)?;
    let (mut server, api) = start_server(ctx, &db, true, "hookrelay.log").await?;
    let healthy = type_names("bench.ok", sizes.healthy_webhooks);
    let hanging = type_names("bench.hang", sizes.hanging_webhooks);
    let mut specs: Vec<_> = (0..sizes.healthy_webhooks)
        .map(|n| webhook(ctx.receiver.url(n), &healthy[n]))
        .collect();
    if with_hanging {
        specs.extend((0..sizes.hanging_webhooks).map(|n| NewWebhook {
            timeout_seconds: Some(5),
            retry_schedule: Some(Vec::new()),
            ..webhook(ctx.receiver.hanging_url(n), &hanging[n])
        }));
    }
    api.create_webhooks(specs).await?;
    let mode = publish_mode(ctx, &api).await?;

    let events: Arc<[Event]> = (0..sizes.events)
        .filter(|&i| with_hanging || !sizes.is_hanging(i))
        .map(|i| Event {
            index: i,
            event_type: if sizes.is_hanging(i) {
                hanging[(i / sizes.period) % hanging.len()].clone()
            } else {
                healthy[i % healthy.len()].clone()
            },
        })
        .collect();
    let expected = sizes.healthy_events() as u64;
    let tracker = ctx.receiver.track(sizes.events, 1, expected);
    let hanging_before = ctx.receiver.hanging_requests();

    let before = server.stats()?;
    let publish = publish_all(&api, &tracker, events, mode).await;
    let outcome = wait_for(&tracker, &mut server, expected).await;
    let hanging_requests = ctx.receiver.hanging_requests() - hanging_before;
    let after = server.stop().await?;
    Ok(Variant {
        mode,
        publish,
        tracker,
        outcome,
        before,
        after,
        hanging_requests,
    })
}
