//! The webhook page's chart: attempts that succeeded and failed in each of the last 24 hours,
//! as an SVG drawn here (stacked bars, failures on top), and the latency percentiles, both
//! from the API's own statistics. Drawn by the server so it needs no script and no library;
//! colours come from the stylesheet so both themes apply.

use maud::{Markup, html};

use crate::api::stats::StatsOut;
use crate::clock::parse_rfc3339;
use crate::dashboard::layout::time;

const HOUR_MS: i64 = 3_600_000;
const HOURS: usize = 24;
/// Bar pitch and chart height, in SVG units (the SVG scales to the column's width).
const BAR: i64 = 10;
const HEIGHT: i64 = 60;

/// (succeeded, failed) for each of the 24 hours ending with the current one, oldest first.
fn hours(stats: &StatsOut, now: i64) -> Vec<(u64, u64)> {
    let first = now - now.rem_euclid(HOUR_MS) - (HOURS as i64 - 1) * HOUR_MS;
    let mut hours = vec![(0, 0); HOURS];
    for b in stats.hourly.iter().flatten() {
        let Some(start) = parse_rfc3339(&b.hour) else {
            continue;
        };
        let index = (start - first).div_euclid(HOUR_MS);
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| hours.get_mut(i)) {
            *slot = (b.succeeded, b.failed);
        }
    }
    hours
}

/// The chart and the latency figures.
pub fn activity(stats: &StatsOut, now: i64) -> Markup {
    let hours = hours(stats, now);
    let first = now - now.rem_euclid(HOUR_MS) - (HOURS as i64 - 1) * HOUR_MS;
    let peak = hours
        .iter()
        .map(|(ok, bad)| ok + bad)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: u64| (n as i64 * HEIGHT) / peak as i64;
    let (ok_total, bad_total) = hours
        .iter()
        .fold((0, 0), |(a, b), (ok, bad)| (a + ok, b + bad));
    let label = format!("Attempts in the last 24 hours: {ok_total} succeeded, {bad_total} failed");
    html! {
        section #activity {
            h2 { "Last 24 hours" }
            svg.chart #chart viewBox=(format!("0 0 {} {HEIGHT}", BAR * HOURS as i64)) role="img" aria-label=(label) preserveAspectRatio="none" {
                title { (label) }
                @for (i, (ok, bad)) in hours.iter().enumerate() {
                    @let x = i as i64 * BAR;
                    @let ok_h = scale(*ok);
                    @let bad_h = scale(*bad);
                    g {
                        title { (time(first + i as i64 * HOUR_MS)) ": " (ok) " succeeded, " (bad) " failed" }
                        @if ok_h > 0 { rect.ok x=(x + 1) y=(HEIGHT - ok_h) width=(BAR - 2) height=(ok_h) data-succeeded=(ok) {} }
                        @if bad_h > 0 { rect.bad x=(x + 1) y=(HEIGHT - ok_h - bad_h) width=(BAR - 2) height=(bad_h) data-failed=(bad) {} }
                    }
                }
            }
            p.legend {
                span.key.ok { "succeeded " (ok_total) } " · " span.key.bad { "failed " (bad_total) }
            }
            dl.facts #latency {
                @if let Some(l) = &stats.latency_ms {
                    dt { "Latency p50" } dd { (l.p50) " ms" }
                    dt { "p90" } dd { (l.p90) " ms" }
                    dt { "p99" } dd { (l.p99) " ms" }
                } @else {
                    dt { "Latency" } dd { span.muted { "no attempts" } }
                }
            }
        }
    }
}
