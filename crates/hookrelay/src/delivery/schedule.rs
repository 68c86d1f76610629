//! Retry math: what state a delivery is in after an attempt, and when it is next due.
//!
//! Invariants: a delivery gets at most one attempt more than its schedule has steps, whatever a
//! receiver asks; a retry is never due sooner than [`MIN_DELAY_MS`] after the attempt ended; a
//! receiver's `Retry-After` never parks a delivery longer than the schedule's longest step (the
//! webhook's owner chose how long a delivery may wait, not the receiver).
//!
//! Schedule steps are spread by [`Jitter`], so deliveries that failed together (an endpoint's
//! outage fails everything sent to it in the same moment) do not all come back together at
//! every step. A `Retry-After` is not spread: it is the receiver's own answer to when it can
//! take more, so waiting less would come back too early and waiting more delays the recovery
//! it announced; deliveries that failed at different moments still come back at different ones,
//! and the per-webhook concurrency limit bounds any burst of those that did not.

use std::time::Duration;

use rand::Rng;

use crate::store::DeliveryStatus;

/// The shortest wait before a retry, whatever a `Retry-After` asks.
pub const MIN_DELAY_MS: i64 = 1000;

/// How far each schedule step may be spread, as a fraction of it: a step of `d` becomes a wait
/// drawn uniformly from `d * (1 - f)..=d * (1 + f)`. Symmetric, so the schedule still holds on
/// average (what the docs promise); proportional, so a 30 s step moves by seconds and a 6 h one
/// by half-hours, each enough to break up a wave of retries at its own scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jitter(f64);

impl Jitter {
    /// Exact steps.
    pub const NONE: Jitter = Jitter(0.0);

    /// A spread of `fraction`, clamped into `0.0..=1.0` (NaN: none). `Config::validate` refuses
    /// anything outside that range at startup, so clamping only ever guards other callers.
    pub fn new(fraction: f64) -> Self {
        if fraction.is_nan() {
            return Self::NONE;
        }
        Self(fraction.clamp(0.0, 1.0))
    }

    /// `delay_ms` spread by a factor drawn from `rng`, never below [`MIN_DELAY_MS`].
    pub fn spread(self, delay_ms: i64, rng: &mut impl Rng) -> i64 {
        if self.0 <= 0.0 {
            return delay_ms;
        }
        let factor = 1.0 + rng.random_range(-self.0..=self.0);
        // `as` saturates: no wait overflows, however long.
        ((delay_ms as f64 * factor).round() as i64).max(MIN_DELAY_MS)
    }
}

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
/// `schedule[attempt - 1]` seconds spread by `jitter`, or what the receiver's `Retry-After`
/// asked, bounded to [`MIN_DELAY_MS`]..=the longest step. A permanent failure, or one past the
/// schedule's end, fails it.
pub fn after_attempt(
    attempt: u32,
    verdict: Verdict,
    schedule: &[u32],
    jitter: Jitter,
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
        None => jitter.spread(i64::from(step) * 1000, &mut rand::rng()),
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
    use rand::SeedableRng;
    use rand::rngs::StdRng;

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
            after_attempt(1, failed(), SCHEDULE, Jitter::NONE, now),
            (DeliveryStatus::Pending, Some(now + 30_000))
        );
        assert_eq!(
            after_attempt(5, failed(), SCHEDULE, Jitter::NONE, now),
            (DeliveryStatus::Pending, Some(now + 21_600_000))
        );
        assert_eq!(
            after_attempt(6, failed(), SCHEDULE, Jitter::NONE, now),
            (DeliveryStatus::Failed, None)
        );
        // Three attempts in all: a schedule of two retries.
        assert_eq!(
            after_attempt(3, failed(), &[60, 60], Jitter::NONE, now),
            (DeliveryStatus::Failed, None)
        );
    }

    #[test]
    fn success_and_permanent_failure_end_the_delivery() {
        assert_eq!(
            after_attempt(1, Verdict::Succeeded, SCHEDULE, Jitter::NONE, 0),
            (DeliveryStatus::Succeeded, None)
        );
        assert_eq!(
            after_attempt(1, Verdict::Permanent, SCHEDULE, Jitter::NONE, 0),
            (DeliveryStatus::Failed, None)
        );
        assert_eq!(
            after_attempt(1, failed(), &[], Jitter::NONE, 0),
            (DeliveryStatus::Failed, None)
        );
    }

    #[test]
    fn retry_after_replaces_the_step_within_the_schedules_bounds() {
        let now = 1_000_000;
        // Shorter and longer than this attempt's step, within the longest step (6 h).
        assert_eq!(
            after_attempt(1, asked(5), SCHEDULE, Jitter::NONE, now),
            (DeliveryStatus::Pending, Some(now + 5_000))
        );
        assert_eq!(
            after_attempt(1, asked(7200), SCHEDULE, Jitter::NONE, now),
            (DeliveryStatus::Pending, Some(now + 7_200_000))
        );
        // Longer than the longest step: the longest step.
        assert_eq!(
            after_attempt(2, asked(86_400), SCHEDULE, Jitter::NONE, now),
            (DeliveryStatus::Pending, Some(now + 21_600_000))
        );
        assert_eq!(
            after_attempt(1, asked(u64::MAX), &[1, 2], Jitter::NONE, now),
            (DeliveryStatus::Pending, Some(now + 2_000))
        );
        // Shorter than a second (a past date, `0`): a second.
        assert_eq!(
            after_attempt(1, asked(0), SCHEDULE, Jitter::NONE, now),
            (DeliveryStatus::Pending, Some(now + 1_000))
        );
        let ms = Verdict::Retryable {
            retry_after: Some(Duration::from_millis(1500)),
        };
        assert_eq!(
            after_attempt(1, ms, SCHEDULE, Jitter::NONE, now),
            (DeliveryStatus::Pending, Some(now + 1_500))
        );
    }

    #[test]
    fn retry_after_never_adds_attempts() {
        assert_eq!(
            after_attempt(3, asked(1), &[60, 60], Jitter::NONE, 0),
            (DeliveryStatus::Failed, None)
        );
        assert_eq!(
            after_attempt(1, asked(1), &[], Jitter::NONE, 0),
            (DeliveryStatus::Failed, None)
        );
    }

    /// Draws enough to hit both ends of a spread many times over.
    const DRAWS: usize = 10_000;

    #[test]
    fn a_spread_step_stays_within_its_fraction_and_above_a_second() {
        let mut rng = StdRng::seed_from_u64(7);
        for fraction in [0.0, 0.05, 0.1, 0.5, 1.0] {
            let jitter = Jitter::new(fraction);
            for step_ms in [1_000, 2_000, 30_000, 21_600_000, 604_800_000] {
                let low = ((step_ms as f64 * (1.0 - fraction)).round() as i64).max(MIN_DELAY_MS);
                let high = (step_ms as f64 * (1.0 + fraction)).round() as i64;
                let (mut least, mut most) = (i64::MAX, i64::MIN);
                for _ in 0..DRAWS {
                    let wait = jitter.spread(step_ms, &mut rng);
                    assert!(
                        (low..=high).contains(&wait),
                        "{step_ms} ms by {fraction}: {wait} outside {low}..={high}"
                    );
                    (least, most) = (least.min(wait), most.max(wait));
                }
                // It spreads both ways, not just within the bounds.
                if fraction > 0.0 {
                    let reach = ((high - step_ms) as f64 * 0.9) as i64;
                    assert!(
                        most >= step_ms + reach,
                        "{step_ms} by {fraction}: at most {most}"
                    );
                    if low < step_ms - reach {
                        assert!(least <= step_ms - reach, "{step_ms} by {fraction}: {least}");
                    }
                } else {
                    assert_eq!((least, most), (step_ms, step_ms));
                }
            }
        }
    }

    #[test]
    fn a_spread_is_centred_on_the_step() {
        let mut rng = StdRng::seed_from_u64(11);
        let jitter = Jitter::new(0.1);
        let total: i64 = (0..DRAWS).map(|_| jitter.spread(30_000, &mut rng)).sum();
        let mean = total / DRAWS as i64;
        assert!((29_800..=30_200).contains(&mean), "mean {mean} ms");
    }

    #[test]
    fn out_of_range_fractions_are_clamped() {
        assert_eq!(Jitter::new(-0.5), Jitter::NONE);
        assert_eq!(Jitter::new(f64::NAN), Jitter::NONE);
        assert_eq!(Jitter::new(3.0), Jitter::new(1.0));
    }

    #[test]
    fn steps_are_spread_and_retry_after_is_not() {
        let now = 1_000_000;
        let jitter = Jitter::new(0.2);
        for _ in 0..DRAWS {
            let (status, due) = after_attempt(2, failed(), SCHEDULE, jitter, now);
            assert_eq!(status, DeliveryStatus::Pending);
            let wait = due.unwrap() - now;
            assert!((96_000..=144_000).contains(&wait), "{wait}");
            assert_eq!(
                after_attempt(2, asked(45), SCHEDULE, jitter, now),
                (DeliveryStatus::Pending, Some(now + 45_000))
            );
        }
        // Jitter changes when, never whether.
        assert_eq!(
            after_attempt(6, failed(), SCHEDULE, jitter, now),
            (DeliveryStatus::Failed, None)
        );
    }
}
