//! What can be done to a webhook besides changing it: test sends, replays, secret rotation,
//! and its statistics.

use serde::{Deserialize, Serialize};

use super::DeliveryStatus;

/// A test send's request (schema `TestIn`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSend {
    /// The catalog type whose example is sent.
    pub event_type: String,
}

/// What a test send's one attempt came to (schema `TestOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    /// The test event's id.
    pub event_id: String,
    /// Its delivery, in the log with `test: true`.
    pub delivery_id: String,
    /// Whether the endpoint answered 2xx in time.
    pub succeeded: bool,
    /// The endpoint's status, when it answered.
    pub status_code: Option<u16>,
    /// How long it took.
    pub latency_ms: i64,
    /// The start of the endpoint's answer.
    pub response_body: Option<String>,
    /// Why no acceptable answer came.
    pub error: Option<String>,
}

/// Which past deliveries to queue again (schema `ReplayIn`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// RFC 3339: created at or after.
    pub since: String,
    /// RFC 3339: created before (default now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Only this state (default `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<DeliveryStatus>,
}

/// What a replay queued (schema `ReplayOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replayed {
    /// Deliveries queued again.
    pub requeued: u64,
    /// RFC 3339.
    pub since: String,
    /// RFC 3339.
    pub until: String,
}

/// A secret rotation's request (schema `RotateIn`): `Default` has one generated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// The new secret (or `whsk_` key for `v1a`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A rotation's outcome (schema `RotateOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotated {
    /// The webhook.
    pub webhook_id: String,
    /// The new shared secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `v1a`: the new public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// `v1a`: the previous public key, which keeps signing for 24 hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_public_key: Option<String>,
    /// When the previous secret or key stops signing.
    pub previous_secret_expires_at: Option<String>,
    /// For people.
    pub note: String,
}

/// A webhook's statistics over a window (schema `StatsOut`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// The webhook.
    pub webhook_id: String,
    /// As asked, e.g. `24h`.
    pub window: String,
    /// RFC 3339: the window's start.
    pub since: String,
    /// Deliveries created in the window, by state.
    pub deliveries: DeliveryCounts,
    /// Attempts made in the window.
    pub attempts: AttemptCounts,
    /// Succeeded over finished attempts; null without any.
    pub success_rate: Option<f64>,
    /// Attempt latency percentiles; null without attempts.
    pub latency_ms: Option<Latency>,
    /// Windows up to two days: one bucket an hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly: Option<Vec<HourBucket>>,
    /// Longer windows: one bucket a (UTC) day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<Vec<DayBucket>>,
    /// Whether the figures come from a sample.
    pub sampled: bool,
}

/// Deliveries by state (schema `DeliveryCounts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    /// Pending.
    pub pending: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
    /// All of them.
    pub total: u64,
}

/// Attempts by outcome (schema `AttemptCounts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptCounts {
    /// All of them.
    pub total: u64,
    /// Got a 2xx in time.
    pub succeeded: u64,
    /// Did not.
    pub failed: u64,
}

/// Latency percentiles in milliseconds (schema `Latency`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: i64,
    /// 90th percentile.
    pub p90: i64,
    /// 99th percentile.
    pub p99: i64,
    /// Slowest.
    pub max: i64,
}

/// One hour's attempts (schema `HourBucket`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourBucket {
    /// RFC 3339: the hour's start.
    pub hour: String,
    /// Attempts.
    pub attempts: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
}

/// One UTC day's attempts (schema `DayBucket`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayBucket {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Attempts.
    pub attempts: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
}
