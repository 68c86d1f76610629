//! The webhook page's chart: attempts that succeeded and failed per hour over the last 24
//! hours, or per UTC day over the last 7 or 30 days (a window chosen with links, no script),
//! as an SVG drawn here (stacked bars, failures on top), with the success rate and latency
//! p50/p90/p99 of the same attempts. Drawn by the server so it needs no script and no library;
//! colours come from the stylesheet so both themes apply.
//!
//! Two bounded, indexed queries, so the page costs the same with a million deliveries as with
//! ten: the bars and the success rate from the attempts the recorder counted per hour
//! ([`crate::store::Store::attempt_hours`], at most 720 rows, exact), and the latency from
//! the webhook's newest attempts in the window, at most [`SAMPLE`] of them
//! ([`crate::store::Store::recent_attempts`]; a busier webhook's latency is that of its
//! newest [`SAMPLE`], and the page says so).

use maud::{Markup, html};

use crate::api::stats::percentile;
use crate::dashboard::DashState;
use crate::dashboard::error::DashError;
use crate::dashboard::layout::time;
use crate::ids::{TenantId, WebhookId};

use super::log::LogFilter;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Most attempts one chart reads for its latency; bench/README.md ("dashboard") has what a
/// read costs.
pub const SAMPLE: u32 = 10_000;
/// Bar pitch and chart height, in SVG units (the SVG scales to the column's width).
const BAR: i64 = 10;
const HEIGHT: i64 = 60;

/// A window the chart can show.
pub struct Window {
    /// Its value in the page's query (`?window=7d`).
    pub name: &'static str,
    /// For people.
    label: &'static str,
    /// A bar's span.
    bucket_ms: i64,
    /// Bars, the last one the current hour or day.
    buckets: usize,
}

/// The windows offered, the first the default.
pub const WINDOWS: [Window; 3] = [
    Window {
        name: "24h",
        label: "Last 24 hours",
        bucket_ms: HOUR_MS,
        buckets: 24,
    },
    Window {
        name: "7d",
        label: "Last 7 days",
        bucket_ms: DAY_MS,
        buckets: 7,
    },
    Window {
        name: "30d",
        label: "Last 30 days",
        bucket_ms: DAY_MS,
        buckets: 30,
    },
];

impl Window {
    /// The window named in the query; anything else is the default.
    pub fn read(name: Option<&str>) -> &'static Window {
        WINDOWS
            .iter()
            .find(|w| Some(w.name) == name)
            .unwrap_or(&WINDOWS[0])
    }

    /// The first bar's start: whole hours or UTC days, the last bar the current one.
    pub fn start(&self, now: i64) -> i64 {
        now - now.rem_euclid(self.bucket_ms) - (self.buckets as i64 - 1) * self.bucket_ms
    }
}

/// What the chart shows, worked out from the attempts read.
pub struct Activity {
    window: &'static Window,
    start: i64,
    /// (succeeded, failed) per bar, oldest first.
    bars: Vec<(u64, u64)>,
    /// p50, p90, p99 in ms.
    latency: Option<[i64; 3]>,
    /// When the latency's read stopped at [`SAMPLE`]: the oldest attempt it reached.
    latency_from: Option<i64>,
    /// Share of the window's attempts that succeeded.
    pub rate: Option<f64>,
}

impl Activity {
    /// Reads the webhook's attempts in `window` and sums them up.
    pub async fn load(
        state: &DashState,
        tenant: &TenantId,
        webhook: &WebhookId,
        window: &'static Window,
        now: i64,
    ) -> Result<Self, DashError> {
        let start = window.start(now);
        let store = &state.app.store;
        let ids = std::slice::from_ref(webhook);
        let (hours, attempts) = tokio::try_join!(
            store.attempt_hours(tenant, ids, start),
            store.recent_attempts(tenant, webhook, start, SAMPLE),
        )?;
        let hours = hours.iter().map(|h| (h.hour_start, h.succeeded, h.failed));
        Ok(Self::sum(window, start, hours, &attempts))
    }

    fn sum(
        window: &'static Window,
        start: i64,
        hours: impl Iterator<Item = (i64, u64, u64)>,
        attempts: &[(i64, i64, bool)],
    ) -> Self {
        let mut bars = vec![(0, 0); window.buckets];
        for (hour_start, ok, bad) in hours {
            let index = (hour_start - start).div_euclid(window.bucket_ms);
            if let Some(bar) = usize::try_from(index).ok().and_then(|i| bars.get_mut(i)) {
                bar.0 += ok;
                bar.1 += bad;
            }
        }
        let (ok, all) = bars
            .iter()
            .fold((0, 0), |(o, a), (ok, bad)| (o + ok, a + ok + bad));
        let mut latencies: Vec<i64> = attempts.iter().map(|a| a.1).collect();
        latencies.sort_unstable();
        let full = attempts.len() >= SAMPLE as usize;
        Self {
            window,
            start,
            bars,
            latency: (!latencies.is_empty())
                .then(|| [0.50, 0.90, 0.99].map(|p| percentile(&latencies, p))),
            latency_from: full.then(|| attempts.iter().map(|a| a.0).min()).flatten(),
            rate: (all > 0).then(|| ok as f64 / all as f64),
        }
    }

    /// The window's label, e.g. "Last 7 days".
    pub fn label(&self) -> &'static str {
        self.window.label
    }

    /// The chart section; `base` is the webhook page's path, and its window links keep the
    /// log's filters.
    pub fn render(&self, base: &str, log: &LogFilter) -> Markup {
        let w = self.window;
        let peak = self
            .bars
            .iter()
            .map(|(ok, bad)| ok + bad)
            .max()
            .unwrap_or(0);
        let peak = peak.max(1) as i64;
        let scale = |n: u64| n as i64 * HEIGHT / peak;
        let (ok_total, bad_total) = self
            .bars
            .iter()
            .fold((0, 0), |(a, b), (ok, bad)| (a + ok, b + bad));
        let label = format!(
            "Attempts, {}: {ok_total} succeeded, {bad_total} failed",
            w.label.to_lowercase()
        );
        let width = BAR * w.buckets as i64;
        html! {
            section #activity {
                div.heading {
                    h2 { (w.label) }
                    nav.windows aria-label="Chart window" {
                        @for other in &WINDOWS {
                            @if other.name == w.name {
                                span.current aria-current="page" { (other.name) }
                            } @else {
                                a href=(window_link(base, log, other)) { (other.name) }
                            }
                        }
                    }
                }
                svg.chart #chart data-window=(w.name) viewBox=(format!("0 0 {width} {HEIGHT}")) role="img" aria-label=(label) preserveAspectRatio="none" {
                    title { (label) }
                    @for (i, (ok, bad)) in self.bars.iter().enumerate() {
                        @let x = i as i64 * BAR;
                        @let at = time(self.start + i as i64 * w.bucket_ms);
                        @let ok_h = scale(*ok);
                        @let bad_h = scale(*bad);
                        g {
                            title { (at) ": " (ok) " succeeded, " (bad) " failed" }
                            @if ok_h > 0 { rect.ok x=(x + 1) y=(HEIGHT - ok_h) width=(BAR - 2) height=(ok_h) data-succeeded=(ok) {} }
                            @if bad_h > 0 { rect.bad x=(x + 1) y=(HEIGHT - ok_h - bad_h) width=(BAR - 2) height=(bad_h) data-failed=(bad) {} }
                        }
                    }
                }
                p.legend {
                    span.key.ok { "succeeded " (ok_total) } " · " span.key.bad { "failed " (bad_total) }
                }
                dl.facts #latency {
                    @if let Some([p50, p90, p99]) = self.latency {
                        dt { "Latency p50" } dd { (p50) " ms" }
                        dt { "p90" } dd { (p90) " ms" }
                        dt { "p99" } dd { (p99) " ms" }
                        @if let Some(from) = self.latency_from {
                            dt { "Latency of" } dd #latency-sample { "the newest " (SAMPLE) " attempts, back to " (time(from)) }
                        }
                    } @else {
                        dt { "Latency" } dd { span.muted { "no attempts" } }
                    }
                }
            }
        }
    }
}

/// The page in `window`, with the log's filters (not its cursor: the log starts over).
fn window_link(base: &str, log: &LogFilter, window: &Window) -> String {
    let keep = LogFilter {
        window: Some(window.name),
        ..log.clone()
    };
    format!("{base}?{}#activity", keep.query(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_hours_or_utc_days_ending_with_the_current_one() {
        let now = 1_795_600_000_000; // 2026-11-25T09:46:40Z
        let day = Window::read(Some("7d"));
        let start = day.start(now);
        assert_eq!(start.rem_euclid(DAY_MS), 0);
        assert!(now - start < 7 * DAY_MS && now - start >= 6 * DAY_MS);
        let this_hour = now - now.rem_euclid(HOUR_MS);
        let hours = [
            (this_hour, 1, 1),
            (this_hour - HOUR_MS, 2, 0),
            (start, 1, 0),
            (start - HOUR_MS, 5, 5),
        ];
        let a = Activity::sum(
            day,
            start,
            hours.into_iter(),
            &[(now, 10, true), (now - 1, 30, false), (start, 20, true)],
        );
        assert_eq!(a.bars[6], (3, 1));
        assert_eq!(a.bars[0], (1, 0));
        assert_eq!(a.rate, Some(0.8));
        assert_eq!(a.latency, Some([20, 30, 30]));
        assert_eq!(a.latency_from, None);
        assert_eq!(Window::read(Some("5y")).name, "24h");
        assert_eq!(Window::read(None).bucket_ms, HOUR_MS);
    }

    #[test]
    fn a_full_latency_read_says_how_far_back_it_reached() {
        let now = 1_795_600_000_000;
        let w = Window::read(Some("30d"));
        let start = w.start(now);
        let attempts = vec![(now - 2 * DAY_MS, 5, true); SAMPLE as usize];
        let a = Activity::sum(w, start, std::iter::empty(), &attempts);
        assert_eq!(a.latency_from, Some(now - 2 * DAY_MS));
        assert_eq!(a.rate, None, "the rate is the counted hours'");
    }
}
