//! Retry math: what state a delivery is in after an attempt.

use crate::store::DeliveryStatus;

/// The delivery's status and next due time after its `attempt`-th attempt (1-based).
/// A success ends it; a retryable failure waits `schedule[attempt - 1]` seconds while the
/// schedule lasts; a permanent failure, or one past the schedule's end, fails it.
pub fn after_attempt(
    attempt: u32,
    succeeded: bool,
    retryable: bool,
    schedule: &[u32],
    now_ms: i64,
) -> (DeliveryStatus, Option<i64>) {
    if succeeded {
        return (DeliveryStatus::Succeeded, None);
    }
    match schedule.get(attempt.saturating_sub(1) as usize) {
        Some(&delay) if retryable => (
            DeliveryStatus::Pending,
            Some(now_ms + i64::from(delay) * 1000),
        ),
        _ => (DeliveryStatus::Failed, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: &[u32] = &[30, 120, 600, 3600, 21600];

    #[test]
    fn failures_follow_the_schedule_then_fail() {
        let now = 1_000_000;
        assert_eq!(
            after_attempt(1, false, true, SCHEDULE, now),
            (DeliveryStatus::Pending, Some(now + 30_000))
        );
        assert_eq!(
            after_attempt(5, false, true, SCHEDULE, now),
            (DeliveryStatus::Pending, Some(now + 21_600_000))
        );
        assert_eq!(
            after_attempt(6, false, true, SCHEDULE, now),
            (DeliveryStatus::Failed, None)
        );
        // Three attempts in all: a schedule of two retries.
        assert_eq!(
            after_attempt(3, false, true, &[60, 60], now),
            (DeliveryStatus::Failed, None)
        );
    }

    #[test]
    fn success_and_permanent_failure_end_the_delivery() {
        assert_eq!(
            after_attempt(1, true, true, SCHEDULE, 0),
            (DeliveryStatus::Succeeded, None)
        );
        assert_eq!(
            after_attempt(1, false, false, SCHEDULE, 0),
            (DeliveryStatus::Failed, None)
        );
        assert_eq!(
            after_attempt(1, false, true, &[], 0),
            (DeliveryStatus::Failed, None)
        );
    }
}
