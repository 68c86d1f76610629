//! Publishing: a closed loop of [`CONCURRENCY`] requests in flight for the bulk scenarios, or an
//! open loop at a fixed rate for `latency`. Every accepted event's acceptance instant goes to the
//! tracker, which measures latency from it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use crate::api::Api;
use crate::receiver::Tracker;

/// Publish requests in flight at once.
pub const CONCURRENCY: usize = 64;
/// Events per `POST /v1/events/batch`.
pub const BATCH_SIZE: usize = 100;

/// About 180 bytes of filler: with `"n"`, each event's `data` is about 200 bytes.
const PAYLOAD: &str = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod \
tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud \
exercitation ullamco lab";

/// How events are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `POST /v1/events`, one event per request.
    Single,
    /// `POST /v1/events/batch`, [`BATCH_SIZE`] events per request.
    Batch,
}

impl Mode {
    /// `single` or `batch`, as printed in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Batch => "batch",
        }
    }
}

/// One event to publish: its index (its id is `e<index>`) and type.
#[derive(Clone, Debug)]
pub struct Event {
    /// Index into the tracker; the id is `e<index>`.
    pub index: usize,
    /// The event type.
    pub event_type: Arc<str>,
}

/// What publishing came to.
#[derive(Debug, Default)]
pub struct PublishReport {
    /// Events answered with a 2xx (and no per-event error in a batch).
    pub accepted: u64,
    /// Events that were not accepted.
    pub errors: u64,
    /// The first error, for the log.
    pub first_error: Option<String>,
    /// When the first request was sent (tracker nanoseconds).
    pub started_ns: u64,
    /// When the last answer arrived (tracker nanoseconds).
    pub finished_ns: u64,
    /// Round trip of every request, milliseconds.
    pub round_trips_ms: Vec<f64>,
}

impl PublishReport {
    fn merge(&mut self, other: PublishReport) {
        self.accepted += other.accepted;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.finished_ns = self.finished_ns.max(other.finished_ns);
        self.round_trips_ms.extend(other.round_trips_ms);
    }

    fn fail(&mut self, events: usize, why: String) {
        self.errors += events as u64;
        self.first_error.get_or_insert(why);
    }

    /// Accepted events per second, first request to last answer.
    pub fn rate(&self) -> f64 {
        crate::stats::rate(
            self.accepted,
            self.finished_ns.saturating_sub(self.started_ns),
        )
    }
}

/// The JSON of one event.
pub fn event_json(event: &Event) -> String {
    format!(
        r#"{{"id":"e{i}","type":"{t}","data":{{"n":{i},"payload":"{PAYLOAD}"}}}}"#,
        i = event.index,
        t = event.event_type
    )
}

fn batch_json(events: &[Event]) -> String {
    let items: Vec<String> = events.iter().map(event_json).collect();
    format!(r#"{{"events":[{}]}}"#, items.join(","))
}

/// Which events of a batch the answer reports as failed. The answer's shape is only assumed to
/// hold an array (itself, or under `results`, `data` or `events`) with one entry per event, in
/// order; an entry with a non-null `error` or a `status` ≥ 400 failed.
fn batch_failures(body: &[u8], n: usize) -> Vec<bool> {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let entries = value.as_array().or_else(|| {
        ["results", "data", "events"]
            .iter()
            .find_map(|k| value.get(k).and_then(Value::as_array))
    });
    let Some(entries) = entries else {
        return vec![false; n];
    };
    (0..n)
        .map(|i| {
            entries.get(i).is_some_and(|e| {
                e.get("error").is_some_and(|x| !x.is_null())
                    || e.get("status")
                        .and_then(Value::as_u64)
                        .is_some_and(|s| s >= 400)
            })
        })
        .collect()
}

/// Sends one request for `events` (one event, or a batch) and records the outcome.
async fn send(api: &Api, tracker: &Tracker, events: &[Event], mode: Mode) -> PublishReport {
    let mut report = PublishReport::default();
    let path = match mode {
        Mode::Single => "/v1/events",
        Mode::Batch => "/v1/events/batch",
    };
    let sent = Instant::now();
    let result = match mode {
        Mode::Single => api.publish(events.iter().map(event_json).collect()).await,
        Mode::Batch => api.publish_batch(batch_json(events)).await,
    };
    let answered = Instant::now();
    let answered_ns = tracker.ns_at(answered);
    report.finished_ns = answered_ns;
    report
        .round_trips_ms
        .push((answered - sent).as_secs_f64() * 1e3);
    let (status, body) = match result {
        Ok(answer) => (answer.status, answer.body),
        Err(e) => {
            report.fail(events.len(), format!("POST {path}: {e}"));
            return report;
        }
    };
    if !status.is_success() {
        let excerpt = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        report.fail(events.len(), format!("POST {path}: {status}: {excerpt}"));
        return report;
    }
    let failed = match mode {
        Mode::Single => vec![false; events.len()],
        Mode::Batch => batch_failures(&body, events.len()),
    };
    for (event, failed) in events.iter().zip(failed) {
        if failed {
            report.fail(1, format!("POST {path}: event e{} refused", event.index));
        } else {
            report.accepted += 1;
            tracker.accepted(event.index, answered_ns);
        }
    }
    report
}

/// Publishes every event as fast as [`CONCURRENCY`] requests in flight allow.
pub async fn publish_all(
    api: &Api,
    tracker: &Arc<Tracker>,
    events: Arc<[Event]>,
    mode: Mode,
) -> PublishReport {
    let chunk = match mode {
        Mode::Single => 1,
        Mode::Batch => BATCH_SIZE,
    };
    let next = Arc::new(AtomicUsize::new(0));
    let mut total = PublishReport {
        started_ns: tracker.now_ns(),
        ..PublishReport::default()
    };
    let mut set = JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (api, tracker, events, next) =
            (api.clone(), tracker.clone(), events.clone(), next.clone());
        set.spawn(async move {
            let mut report = PublishReport::default();
            loop {
                let start = next.fetch_add(chunk, Ordering::Relaxed);
                if start >= events.len() {
                    return report;
                }
                let end = (start + chunk).min(events.len());
                report.merge(send(&api, &tracker, &events[start..end], mode).await);
            }
        });
    }
    while let Some(result) = set.join_next().await {
        match result {
            Ok(report) => total.merge(report),
            Err(e) => total.fail(0, format!("publisher task: {e}")),
        }
    }
    total
}

/// Publishes the events one per request at `per_second`, each on schedule whether or not
/// earlier ones have been answered (an open loop, as real traffic arrives).
pub async fn publish_paced(
    api: &Api,
    tracker: &Arc<Tracker>,
    events: Arc<[Event]>,
    per_second: f64,
) -> PublishReport {
    let start = Instant::now();
    let mut total = PublishReport {
        started_ns: tracker.ns_at(start),
        ..PublishReport::default()
    };
    let mut set = JoinSet::new();
    for i in 0..events.len() {
        tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / per_second)).into())
            .await;
        let (api, tracker, events) = (api.clone(), tracker.clone(), events.clone());
        set.spawn(async move { send(&api, &tracker, &events[i..=i], Mode::Single).await });
        // Collect finished tasks as we go, so the set stays small.
        while let Some(result) = set.try_join_next() {
            match result {
                Ok(report) => total.merge(report),
                Err(e) => total.fail(0, format!("publisher task: {e}")),
            }
        }
    }
    while let Some(result) = set.join_next().await {
        match result {
            Ok(report) => total.merge(report),
            Err(e) => total.fail(0, format!("publisher task: {e}")),
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_json_is_valid_and_about_the_right_size() {
        let e = Event {
            index: 7,
            event_type: "bench.t7".into(),
        };
        let v: Value = serde_json::from_str(&event_json(&e)).unwrap();
        assert_eq!(v["id"], "e7");
        let data = v["data"].to_string();
        assert!((190..=230).contains(&data.len()), "{}", data.len());
    }

    #[test]
    fn reads_per_event_failures() {
        let body = br#"{"results": [{"id": "e1"}, {"error": {"code": "x"}}, {"status": 422}]}"#;
        assert_eq!(batch_failures(body, 3), vec![false, true, true]);
        assert_eq!(batch_failures(b"{}", 2), vec![false, false]);
    }
}
