//! Per-webhook statistics: `GET /v1/webhooks/{id}/stats?window=24h` (and the admin's
//! `/v1/tenants/{tid}/webhooks/{id}/stats`) answers delivery counts, the attempt success rate,
//! latency percentiles and buckets over the window: hourly up to two days, daily (UTC days)
//! beyond, so a 7- or 30-day chart gets a bar per day rather than hundreds of hours.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{CallerTenant, PathTenant, Scope};
use super::extract::{ApiPath, ApiQuery};
use super::webhooks::find_webhook;
use super::{ApiError, AppState};
use crate::clock::{now_ms, rfc3339};
use crate::ids::WebhookId;
use crate::store::{Activity, DeliveryStatus};

/// Most attempts read for one answer; beyond it the figures describe the newest ones.
const SAMPLE: u32 = 100_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Windows up to this long get hourly buckets; longer ones daily.
const HOURLY_UP_TO_MS: i64 = 2 * DAY_MS;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(webhook_stats))
        .routes(routes!(tenant_webhook_stats))
}

/// `?window=`
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// How far back: `<n>h` (1 to 720) or `<n>d` (1 to 30), without leading zeros (default
    /// `24h`).
    #[param(
        pattern = "^(([1-9]|[1-9][0-9]|[1-6][0-9]{2}|7[01][0-9]|720)h|([1-9]|[12][0-9]|30)d)$"
    )]
    window: Option<String>,
}

/// Deliveries created in the window, by status.
#[derive(Serialize, ToSchema, Default)]
pub struct DeliveryCounts {
    pending: u64,
    succeeded: u64,
    failed: u64,
    total: u64,
}

/// Attempts made in the window.
#[derive(Serialize, ToSchema, Default)]
pub struct AttemptCounts {
    total: u64,
    succeeded: u64,
    failed: u64,
}

/// Attempt latency percentiles, in milliseconds.
#[derive(Serialize, ToSchema)]
pub struct Latency {
    pub(crate) p50: i64,
    pub(crate) p90: i64,
    pub(crate) p99: i64,
    max: i64,
}

/// One hour of attempts.
#[derive(Serialize, ToSchema)]
pub struct HourBucket {
    /// The hour's start (RFC 3339).
    pub(crate) hour: String,
    attempts: u64,
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
}

/// One UTC day of attempts.
#[derive(Serialize, ToSchema)]
pub struct DayBucket {
    /// The day's start, midnight UTC (RFC 3339).
    day: String,
    attempts: u64,
    succeeded: u64,
    failed: u64,
}

/// A webhook's statistics over a window.
#[derive(Serialize, ToSchema)]
pub struct StatsOut {
    webhook_id: String,
    /// The window as asked, e.g. `24h`.
    window: String,
    /// The window's start (RFC 3339).
    since: String,
    deliveries: DeliveryCounts,
    attempts: AttemptCounts,
    /// Succeeded attempts / attempts; null without attempts.
    pub(crate) success_rate: Option<f64>,
    /// Null without attempts.
    pub(crate) latency_ms: Option<Latency>,
    /// Hours with attempts, oldest first; present for windows up to 2 days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hourly: Option<Vec<HourBucket>>,
    /// Days with attempts, oldest first; present for windows over 2 days.
    #[serde(skip_serializing_if = "Option::is_none")]
    daily: Option<Vec<DayBucket>>,
    /// True when there were more attempts than were read (the newest 100,000 were).
    sampled: bool,
}

fn parse_window(window: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::invalid("window", "must be like 1h, 24h or 7d, at most 30d");
    // By character, not byte: a multi-byte last character is bad input, not a panic.
    let Some((at, _)) = window.char_indices().last() else {
        return Err(bad());
    };
    let (number, unit) = window.split_at(at);
    // Digits only, without a leading zero or sign: exactly what the document's pattern says.
    if number.starts_with('0') || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = number.parse().map_err(|_| bad())?;
    let ms = match unit {
        "h" => n * HOUR_MS,
        "d" => n * 24 * HOUR_MS,
        _ => return Err(bad()),
    };
    if ms <= 0 || ms > 30 * 24 * HOUR_MS {
        return Err(bad());
    }
    Ok(ms)
}

/// The nearest-rank percentile `p` (0 to 1) of `sorted`, which is not empty.
pub(crate) fn percentile(sorted: &[i64], p: f64) -> i64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// What [`summarize`] describes: the window as asked, its start and its length.
struct Window {
    text: String,
    since: i64,
    ms: i64,
}

fn summarize(webhook_id: String, window: Window, activity: Activity) -> StatsOut {
    let bucket_ms = if window.ms > HOURLY_UP_TO_MS {
        DAY_MS
    } else {
        HOUR_MS
    };
    let mut deliveries = DeliveryCounts::default();
    for (status, n) in activity.deliveries {
        match status {
            DeliveryStatus::Pending => deliveries.pending = n,
            DeliveryStatus::Succeeded => deliveries.succeeded = n,
            DeliveryStatus::Failed => deliveries.failed = n,
        }
        deliveries.total += n;
    }
    let mut attempts = AttemptCounts::default();
    let mut buckets: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    let mut latencies = Vec::with_capacity(activity.attempts.len());
    for &(started_at, latency, ok) in &activity.attempts {
        attempts.total += 1;
        let bucket = buckets
            .entry(started_at - started_at.rem_euclid(bucket_ms))
            .or_default();
        if ok {
            attempts.succeeded += 1;
            bucket.0 += 1;
        } else {
            attempts.failed += 1;
            bucket.1 += 1;
        }
        latencies.push(latency);
    }
    latencies.sort_unstable();
    let latency_ms = latencies.last().map(|&max| Latency {
        p50: percentile(&latencies, 0.50),
        p90: percentile(&latencies, 0.90),
        p99: percentile(&latencies, 0.99),
        max,
    });
    let buckets = buckets
        .into_iter()
        .map(|(start, (ok, failed))| (rfc3339(start), ok, failed));
    let (hourly, daily) = if bucket_ms == DAY_MS {
        let days = buckets.map(|(day, succeeded, failed)| DayBucket {
            day,
            attempts: succeeded + failed,
            succeeded,
            failed,
        });
        (None, Some(days.collect()))
    } else {
        let hours = buckets.map(|(hour, succeeded, failed)| HourBucket {
            hour,
            attempts: succeeded + failed,
            succeeded,
            failed,
        });
        (Some(hours.collect()), None)
    };
    StatsOut {
        webhook_id,
        window: window.text,
        since: rfc3339(window.since),
        success_rate: (attempts.total > 0)
            .then(|| attempts.succeeded as f64 / attempts.total as f64),
        sampled: attempts.total >= u64::from(SAMPLE),
        deliveries,
        attempts,
        latency_ms,
        hourly,
        daily,
    }
}

/// A webhook's delivery statistics over a window.
#[utoipa::path(get, path = "/v1/webhooks/{id}/stats", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), StatsQuery),
    responses((status = 200, body = StatsOut), (status = 404, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn webhook_stats(
    CallerTenant(scope): CallerTenant,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<StatsOut>, ApiError> {
    let text = q.window.unwrap_or_else(|| "24h".to_owned());
    let webhook = WebhookId::from_trusted(id);
    Ok(Json(stats_in(&state, &scope, &webhook, text).await?))
}

/// A webhook's statistics over `window` (`24h`, `7d`…): the API's and the dashboard's.
pub(crate) async fn stats_in(
    state: &AppState,
    scope: &Scope,
    webhook: &WebhookId,
    text: String,
) -> Result<StatsOut, ApiError> {
    let ms = parse_window(&text)?;
    let window = Window {
        text,
        since: now_ms() - ms,
        ms,
    };
    find_webhook(state, scope, webhook).await?;
    let activity = state
        .store
        .webhook_activity(&scope.0, webhook, window.since, SAMPLE)
        .await
        .map_err(|e| ApiError::from_store(e, "webhook"))?;
    Ok(summarize(webhook.to_string(), window, activity))
}

/// A tenant's webhook's delivery statistics over a window (admin).
#[utoipa::path(get, path = "/v1/tenants/{tid}/webhooks/{id}/stats", tag = "webhooks",
    params(("tid" = String, Path, description = "Tenant id"), ("id" = String, Path, description = "Webhook id"), StatsQuery),
    responses((status = 200, body = StatsOut), (status = 404, body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
async fn tenant_webhook_stats(
    PathTenant(scope): PathTenant,
    state: State<AppState>,
    ApiPath(path): ApiPath<(String, String)>,
    query: ApiQuery<StatsQuery>,
) -> Result<Json<StatsOut>, ApiError> {
    webhook_stats(CallerTenant(scope), state, ApiPath(path.1), query).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_hours_or_days_up_to_thirty_days() {
        assert_eq!(parse_window("24h").ok(), Some(24 * HOUR_MS));
        assert_eq!(parse_window("7d").ok(), Some(7 * 24 * HOUR_MS));
        for bad in [
            "", "h", "0h", "31d", "5m", "-1h", "+1h", "01h", "721h", "x1h", "5ä", "ä",
        ] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_over_two_days_are_bucketed_by_utc_day() {
        let day = 1_795_564_800_000; // 2026-11-25T00:00:00Z
        let activity = |starts: &[i64]| Activity {
            attempts: starts.iter().map(|&t| (t, 5, t % 2 == 0)).collect(),
            deliveries: Vec::new(),
        };
        let window = |ms| Window {
            text: String::new(),
            since: day - ms,
            ms,
        };
        let starts = [day + 2, day + HOUR_MS + 1, day - 1];
        let daily = summarize(String::new(), window(7 * DAY_MS), activity(&starts));
        assert!(daily.hourly.is_none());
        let days: Vec<(String, u64, u64)> = daily
            .daily
            .unwrap()
            .into_iter()
            .map(|b| (b.day, b.succeeded, b.failed))
            .collect();
        assert_eq!(
            days,
            [
                ("2026-11-24T00:00:00.000Z".to_owned(), 0, 1),
                ("2026-11-25T00:00:00.000Z".to_owned(), 1, 1),
            ]
        );
        let hourly = summarize(String::new(), window(2 * DAY_MS), activity(&starts));
        assert!(hourly.daily.is_none());
        assert_eq!(hourly.hourly.unwrap().len(), 3);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sorted: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 0.5), 50);
        assert_eq!(percentile(&sorted, 0.99), 99);
        assert_eq!(percentile(&[7], 0.99), 7);
    }
}
