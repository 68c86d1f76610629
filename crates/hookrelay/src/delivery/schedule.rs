//! Retry math: what state a delivery is in after an attempt, and when it is next due.
//!
//! Invariants: a delivery gets at most one attempt more than its schedule has steps, whatever a
//! receiver asks; a retry is never due sooner than [`MIN_DELAY_MS`] after the attempt ended; a
//! receiver's `Retry-After` never parks a delivery longer than the schedule's longest step (the
//! webhook's owner chose how long a delivery may wait, not the receiver).

use std::time::Duration;

use crate::store::DeliveryStatus;

/// The shortest wait before a retry, whatever a `Retry-After` asks.
pub const MIN_DELAY_MS: i64 = 1000;

/// How an attempt ended, as far as scheduling cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx: the delivery is done.
    Succeeded,
    /// Trying again may help; `retry_after` is what a `429`/`503` asked for, if anything.
    Retryable {
        /// The receiver's `Retry-After`, unbounded as parsed.
        retry_after: Option<Duration>,
    },
    /// Trying again cannot help (a refused address, `410 Gone`, an unrenderable payload).
    Permanent,
}

/// The delivery's status and next due time after its `attempt`-th attempt (1-based), which
/// ended at `now_ms`. A success ends it; a retryable failure waits while the schedule lasts:
/// `schedule[attempt - 1]` seconds, or what the receiver's `Retry-After` asked, bounded to
/// [`MIN_DELAY_MS`]..=the longest step. A permanent failure, or one past the schedule's end,
/// fails it.
pub fn after_attempt(
    attempt: u32,
    verdict: Verdict,
    schedule: &[u32],
    now_ms: i64,
) -> (DeliveryStatus, Option<i64>) {
    let retry_after = match verdict {
        Verdict::Succeeded => return (DeliveryStatus::Succeeded, None),
        Verdict::Permanent => return (DeliveryStatus::Failed, None),
        Verdict::Retryable { retry_after } => retry_after,
    };
    let Some(&step) = schedule.get(attempt.saturating_sub(1) as usize) else {
        return (DeliveryStatus::Failed, None);
    };
    let delay_ms = match retry_after {
        Some(asked) => bound_retry_after(asked, schedule),
        None => i64::from(step) * 1000,
    };
    (
        DeliveryStatus::Pending,
        Some(now_ms.saturating_add(delay_ms)),
    )
}

/// A `Retry-After` in milliseconds, no longer than the schedule's longest step and no shorter
/// than [`MIN_DELAY_MS`].
fn bound_retry_after(asked: Duration, schedule: &[u32]) -> i64 {
    let longest_ms = schedule.iter().copied().max().map_or(0, i64::from) * 1000;
    let asked_ms = i64::try_from(asked.as_millis()).unwrap_or(i64::MAX);
    // `min` before `max`: the floor wins should a schedule ever be shorter than it.
    asked_ms.min(longest_ms).max(MIN_DELAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: &[u32] = &[30, 120, 600, 3600, 21600];

    fn failed() -> Verdict {
        Verdict::Retryable { retry_after: None }
    }

    fn asked(seconds: u64) -> Verdict {
        Verdict::Retryable {
            retry_after: Some(Duration::from_secs(seconds)),
        }
    }

    #[test]
    fn failures_follow_the_schedule_then_fail() {
        let now = 1_000_000;
        assert_eq!(
            after_attempt(1, failed(), SCHEDULE, now),
            (DeliveryStatus::Pending, Some(now + 30_000))
        );
        assert_eq!(
            after_attempt(5, failed(), SCHEDULE, now),
            (DeliveryStatus::Pending, Some(now + 21_600_000))
        );
        assert_eq!(
            after_attempt(6, failed(), SCHEDULE, now),
            (DeliveryStatus::Failed, None)
        );
        // Three attempts in all: a schedule of two retries.
        assert_eq!(
            after_attempt(3, failed(), &[60, 60], now),
            (DeliveryStatus::Failed, None)
        );
    }

    #[test]
    fn success_and_permanent_failure_end_the_delivery() {
        assert_eq!(
            after_attempt(1, Verdict::Succeeded, SCHEDULE, 0),
            (DeliveryStatus::Succeeded, None)
        );
        assert_eq!(
            after_attempt(1, Verdict::Permanent, SCHEDULE, 0),
            (DeliveryStatus::Failed, None)
        );
        assert_eq!(
            after_attempt(1, failed(), &[], 0),
            (DeliveryStatus::Failed, None)
        );
    }

    #[test]
    fn retry_after_replaces_the_step_within_the_schedules_bounds() {
        let now = 1_000_000;
        // Shorter and longer than this attempt's step, within the longest step (6 h).
        assert_eq!(
            after_attempt(1, asked(5), SCHEDULE, now),
            (DeliveryStatus::Pending, Some(now + 5_000))
        );
        assert_eq!(
            after_attempt(1, asked(7200), SCHEDULE, now),
            (DeliveryStatus::Pending, Some(now + 7_200_000))
        );
        // Longer than the longest step: the longest step.
        assert_eq!(
            after_attempt(2, asked(86_400), SCHEDULE, now),
            (DeliveryStatus::Pending, Some(now + 21_600_000))
        );
        assert_eq!(
            after_attempt(1, asked(u64::MAX), &[1, 2], now),
            (DeliveryStatus::Pending, Some(now + 2_000))
        );
        // Shorter than a second (a past date, `0`): a second.
        assert_eq!(
            after_attempt(1, asked(0), SCHEDULE, now),
            (DeliveryStatus::Pending, Some(now + 1_000))
        );
        let ms = Verdict::Retryable {
            retry_after: Some(Duration::from_millis(1500)),
        };
        assert_eq!(
            after_attempt(1, ms, SCHEDULE, now),
            (DeliveryStatus::Pending, Some(now + 1_500))
        );
    }

    #[test]
    fn retry_after_never_adds_attempts() {
        assert_eq!(
            after_attempt(3, asked(1), &[60, 60], 0),
            (DeliveryStatus::Failed, None)
        );
        assert_eq!(
            after_attempt(1, asked(1), &[], 0),
            (DeliveryStatus::Failed, None)
        );
    }
}
