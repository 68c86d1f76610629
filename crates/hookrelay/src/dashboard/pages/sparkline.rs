//! The webhooks list's glance at each webhook: the success rate of its attempts over the same
//! 24 hours as the webhook page's default chart, and a sparkline of them per hour (a small SVG
//! drawn here, no script; its label says the same in words for screen readers).
//!
//! The whole page is one query ([`crate::store::Store::attempt_hours`]): every webhook's newest
//! attempts, at most [`chart::SAMPLE`] for the page shared between its webhooks, so the list
//! costs the same with a million deliveries as with ten. A webhook with more attempts than its
//! share gets exact bars back to the oldest attempt read and "not counted" bars before, as the
//! chart does, and its rate is that of the attempts read.

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
    start: i64,
    /// (succeeded, failed) per hour, oldest first.
    bars: [(u64, u64); HOURS],
    /// When the webhook's share of the read was used up: the oldest attempt it reached.
    cut_at: Option<i64>,
    /// Attempts read.
    pub read: u64,
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
    let per_webhook = share(hooks.len());
    let hours = state
        .app
        .store
        .attempt_hours(tenant, &ids, start, per_webhook)
        .await?;
    Ok(ids
        .iter()
        .map(|id| {
            Glance::sum(
                start,
                per_webhook,
                hours.iter().filter(|h| &h.webhook == id),
            )
        })
        .collect())
}

/// Each of `n` webhooks' share of the page's read.
fn share(n: usize) -> u32 {
    let n = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    (chart::SAMPLE / n).max(1)
}

impl Glance {
    fn sum<'a>(start: i64, per_webhook: u32, hours: impl Iterator<Item = &'a AttemptHour>) -> Self {
        let mut bars = [(0, 0); HOURS];
        let mut read = 0;
        let mut oldest = None::<i64>;
        for h in hours {
            read += h.succeeded + h.failed;
            oldest = Some(oldest.map_or(h.oldest_started_at, |o| o.min(h.oldest_started_at)));
            let index = (h.hour_start - start).div_euclid(HOUR_MS);
            if let Some(bar) = usize::try_from(index).ok().and_then(|i| bars.get_mut(i)) {
                bar.0 += h.succeeded;
                bar.1 += h.failed;
            }
        }
        Self {
            start,
            bars,
            cut_at: (read >= u64::from(per_webhook)).then_some(oldest).flatten(),
            read,
        }
    }

    /// Share of the attempts read that succeeded.
    pub fn rate(&self) -> Option<f64> {
        let ok: u64 = self.bars.iter().map(|b| b.0).sum();
        (self.read > 0).then(|| ok as f64 / self.read as f64)
    }

    /// Whether hour `i` was counted (see `chart::Activity::counted`).
    fn counted(&self, i: usize) -> bool {
        self.cut_at
            .is_none_or(|cut| self.start + (i as i64 + 1) * HOUR_MS > cut)
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
        let mut label = format!("Attempts per hour, last 24 hours: {ok} succeeded, {bad} failed");
        if let Some(cut) = self.cut_at {
            label.push_str(&format!(
                " (the newest {}, back to {})",
                self.read,
                crate::dashboard::layout::time(cut)
            ));
        }
        html! {
            span.glance {
                span.rate { (format!("{:.1} %", rate * 100.0)) }
                svg.spark viewBox=(format!("0 0 {} {HEIGHT}", BAR * HOURS as i64)) role="img" aria-label=(label) data-succeeded=(ok) data-failed=(bad) preserveAspectRatio="none" {
                    title { (label) }
                    @for (i, (ok, bad)) in self.bars.iter().enumerate() {
                        @let x = i as i64 * BAR;
                        @if !self.counted(i) {
                            rect.uncounted x=(x) y="0" width=(BAR - 1) height=(HEIGHT) {}
                        } @else {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hour(webhook: &str, hour_start: i64, ok: u64, bad: u64, oldest: i64) -> AttemptHour {
        AttemptHour {
            webhook: WebhookId::from_trusted(webhook),
            hour_start,
            succeeded: ok,
            failed: bad,
            oldest_started_at: oldest,
        }
    }

    #[test]
    fn hours_land_in_their_bars_and_a_used_up_share_marks_the_hours_before_it() {
        let start = 1_795_600_000_000 - 1_795_600_000_000 % HOUR_MS - 23 * HOUR_MS;
        let rows = [
            hour("wh_a", start, 3, 1, start + 10),
            hour("wh_a", start + 23 * HOUR_MS, 4, 0, start + 23 * HOUR_MS),
        ];
        let g = Glance::sum(start, 100, rows.iter());
        assert_eq!((g.bars[0], g.bars[23], g.read), ((3, 1), (4, 0), 8));
        assert_eq!(g.rate(), Some(7.0 / 8.0));
        assert!((0..HOURS).all(|i| g.counted(i)));
        let g = Glance::sum(start, 4, rows[1..].iter());
        assert_eq!(g.cut_at, Some(start + 23 * HOUR_MS));
        assert!(!g.counted(22) && g.counted(23));
        let none = Glance::sum(start, 100, [].iter());
        assert_eq!(none.rate(), None);
        assert!(none.render().into_string().contains("no attempts"));
        assert_eq!(share(250), 40);
        assert_eq!(share(0), chart::SAMPLE);
    }
}
