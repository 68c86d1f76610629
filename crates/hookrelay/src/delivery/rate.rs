//! Per-webhook rate limits (`rate_limit_per_second`): attempts to one webhook are spaced at
//! least `1/rate` apart. A delivery whose slot is more than [`MAX_WAIT`] away is given back to
//! the queue for that time instead of holding an in-flight slot while it waits.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::ids::WebhookId;

/// Longest an attempt task sleeps for its slot.
pub const MAX_WAIT: Duration = Duration::from_secs(1);

/// When a rate-limited attempt may go.
#[derive(Debug, PartialEq, Eq)]
pub enum Slot {
    /// Go after this wait (possibly zero); the slot is reserved.
    After(Duration),
    /// Too far off: give the delivery back, due in this long. Nothing is reserved.
    Defer(Duration),
}

/// The next free slot of each rate-limited webhook.
#[derive(Default)]
pub struct RateLimits {
    next: Mutex<HashMap<WebhookId, Instant>>,
}

impl RateLimits {
    /// Reserves the next slot of `webhook` at `per_second`, or says to defer.
    pub fn reserve(&self, webhook: &WebhookId, per_second: u32, now: Instant) -> Slot {
        let interval = Duration::from_secs(1) / per_second.max(1);
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        if next.len() > 65_536 {
            next.retain(|_, at| *at > now);
        }
        let slot = next
            .get(webhook)
            .copied()
            .filter(|at| *at > now)
            .unwrap_or(now);
        let wait = slot - now;
        if wait > MAX_WAIT {
            return Slot::Defer(wait);
        }
        next.insert(webhook.clone(), slot + interval);
        Slot::After(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_spaced_by_the_rate_and_far_slots_are_deferred() {
        let limits = RateLimits::default();
        let w = WebhookId::generate();
        let t0 = Instant::now();
        assert_eq!(limits.reserve(&w, 2, t0), Slot::After(Duration::ZERO));
        assert_eq!(
            limits.reserve(&w, 2, t0),
            Slot::After(Duration::from_millis(500))
        );
        assert_eq!(
            limits.reserve(&w, 2, t0),
            Slot::After(Duration::from_millis(1000))
        );
        assert_eq!(
            limits.reserve(&w, 2, t0),
            Slot::Defer(Duration::from_millis(1500))
        );
        // Later, the schedule has caught up.
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(limits.reserve(&w, 2, t1), Slot::After(Duration::ZERO));
        let other = WebhookId::generate();
        assert_eq!(
            limits.reserve(&other, 2, t0),
            Slot::After(Duration::ZERO),
            "per webhook"
        );
    }
}
