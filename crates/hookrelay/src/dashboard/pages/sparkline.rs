//! The webhooks list's glance at each webhook: the success rate of its attempts over the same
//! 24 hours as the webhook page's default chart, and a sparkline of them per hour (a small SVG
//! drawn here, no script; its label says the same in words for screen readers).
//!
//! The whole page is one query ([`crate::store::Store::attempt_hours`]): the attempts the
//! recorder counted per hour, at most 24 rows per webhook, so the list costs the same with a
//! million deliveries as with ten, and its figures are exact.

use maud::{Markup, html};

use crate::dashboard::DashState;
use crate::dashboard::error::DashError;
use crate::ids::{TenantId, WebhookId};
use crate::store::{AttemptHour, Webhook};

use super::chart;

const HOUR_MS: i64 = 3_600_000;
/// Hours shown, the last one the current hour.
const HOURS: usize = 24;
/// Bar pitch and height, in SVG units.
const BAR: i64 = 4;
const HEIGHT: i64 = 20;

/// One webhook's last 24 hours, as read.
#[derive(Debug, PartialEq)]
pub struct Glance {
    /// (succeeded, failed) per hour, oldest first.
    bars: [(u64, u64); HOURS],
}

/// The glances of `hooks`, in their order, from one query.
pub async fn load(
    state: &DashState,
    tenant: &TenantId,
    hooks: &[Webhook],
    now: i64,
) -> Result<Vec<Glance>, DashError> {
    let start = chart::WINDOWS[0].start(now);
    let ids: Vec<WebhookId> = hooks.iter().map(|w| w.id.clone()).collect();
    let hours = state.app.store.attempt_hours(tenant, &ids, start).await?;
    Ok(ids
        .iter()
        .map(|id| Glance::sum(start, hours.iter().filter(|h| &h.webhook == id)))
        .collect())
}

impl Glance {
    fn sum<'a>(start: i64, hours: impl Iterator<Item = &'a AttemptHour>) -> Self {
        let mut bars = [(0, 0); HOURS];
        for h in hours {
            let index = (h.hour_start - start).div_euclid(HOUR_MS);
            if let Some(bar) = usize::try_from(index).ok().and_then(|i| bars.get_mut(i)) {
                bar.0 += h.succeeded;
                bar.1 += h.failed;
            }
        }
        Self { bars }
    }

    /// Share of the attempts that succeeded.
    pub fn rate(&self) -> Option<f64> {
        let (ok, all) = self
            .bars
            .iter()
            .fold((0, 0), |(o, a), (ok, bad)| (o + ok, a + ok + bad));
        (all > 0).then(|| ok as f64 / all as f64)
    }

    /// The rate, and the sparkline when there were attempts.
    pub fn render(&self) -> Markup {
        let Some(rate) = self.rate() else {
            return html! { span.muted { "no attempts" } };
        };
        let (ok, bad) = self
            .bars
            .iter()
            .fold((0, 0), |(a, b), (ok, bad)| (a + ok, b + bad));
        let peak = self
            .bars
            .iter()
            .map(|(o, b)| o + b)
            .max()
            .unwrap_or(0)
            .max(1) as i64;
        let scale = |n: u64| (n as i64 * HEIGHT).div_euclid(peak).max(i64::from(n > 0));
        let label = format!("Attempts per hour, last 24 hours: {ok} succeeded, {bad} failed");
        html! {
            span.glance {
                span.rate { (format!("{:.1} %", rate * 100.0)) }
                svg.spark viewBox=(format!("0 0 {} {HEIGHT}", BAR * HOURS as i64)) role="img" aria-label=(label) data-succeeded=(ok) data-failed=(bad) preserveAspectRatio="none" {
                    title { (label) }
                    @for (i, (ok, bad)) in self.bars.iter().enumerate() {
                        @let x = i as i64 * BAR;
                        @let ok_h = scale(*ok);
                        @let bad_h = scale(*bad);
                        @if ok_h > 0 { rect.ok x=(x) y=(HEIGHT - ok_h) width=(BAR - 1) height=(ok_h) data-hour=(i) data-succeeded=(ok) {} }
                        @if bad_h > 0 { rect.bad x=(x) y=(HEIGHT - ok_h - bad_h) width=(BAR - 1) height=(bad_h) data-hour=(i) data-failed=(bad) {} }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hour(webhook: &str, hour_start: i64, ok: u64, bad: u64) -> AttemptHour {
        AttemptHour {
            webhook: WebhookId::from_trusted(webhook),
            hour_start,
            succeeded: ok,
            failed: bad,
        }
    }

    #[test]
    fn hours_land_in_their_bars() {
        let start = 1_795_600_000_000 - 1_795_600_000_000 % HOUR_MS - 23 * HOUR_MS;
        let rows = [
            hour("wh_a", start - HOUR_MS, 9, 9),
            hour("wh_a", start, 3, 1),
            hour("wh_a", start + 23 * HOUR_MS, 4, 0),
        ];
        let g = Glance::sum(start, rows.iter());
        assert_eq!((g.bars[0], g.bars[23]), ((3, 1), (4, 0)));
        assert_eq!(g.rate(), Some(7.0 / 8.0));
        let none = Glance::sum(start, [].iter());
        assert_eq!(none.rate(), None);
        assert!(none.render().into_string().contains("no attempts"));
    }
}
