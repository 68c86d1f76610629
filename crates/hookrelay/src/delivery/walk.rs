//! Where the dispatcher's next claim starts reading the queue. Claims read due deliveries in
//! due order and pass over those whose webhook (or host) is full; those stay at the front of
//! the queue. Starting every claim from the oldest would read them all again each time: a
//! hanging endpoint's backlog would cost every claim a scan of it. So a claim resumes where the
//! last one stopped, and goes back only as far as the first delivery it passed over of a
//! webhook that has room again.
//!
//! Nothing new lands before where a claim stopped: new deliveries, retries and deliveries given
//! back are due now or later and ids grow with time. The exceptions (a lease that ran out, a
//! delivery written by a node whose clock is behind, one given back in the very millisecond a
//! claim read past it) are found by going back to the oldest every [`RESCAN`]: at worst they
//! wait that long.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::store::DueKey;

/// How often a claim starts from the oldest due delivery regardless.
pub const RESCAN: Duration = Duration::from_secs(1);

/// The claim loop's place in the queue.
pub struct Walk {
    /// Where the next claim starts (inclusive); `None`: at the oldest.
    from: Option<DueKey>,
    /// Each webhook passed over before `from`, with the first of its deliveries passed over.
    passed: HashMap<String, DueKey>,
    /// When a claim last started from the oldest.
    since: Instant,
}

impl Default for Walk {
    fn default() -> Self {
        Self {
            from: None,
            passed: HashMap::new(),
            since: Instant::now(),
        }
    }
}

impl Walk {
    /// Readies the next claim's start: the oldest, once every [`RESCAN`]; else the first
    /// delivery passed over of any webhook that `has_room` now; else where the last stopped.
    /// Answers the start, for `Store::claim_due` to read from and move, and the record of
    /// webhooks it passes over.
    pub fn next(
        &mut self,
        now: Instant,
        has_room: impl Fn(&str) -> bool,
    ) -> (&mut Option<DueKey>, PassedOver<'_>) {
        if now.duration_since(self.since) >= RESCAN {
            self.from = None;
        } else if let Some(back) = self
            .passed
            .iter()
            .filter(|(webhook, _)| has_room(webhook))
            .map(|(_, first)| first)
            .min()
            .cloned()
        {
            // Webhooks passed over before `back` are still full; from `back` on the claim
            // meets (and notes) the others again.
            self.passed.retain(|_, first| *first < back);
            self.from = Some(back);
        }
        if self.from.is_none() {
            self.passed.clear();
            self.since = now;
        }
        (&mut self.from, PassedOver(&mut self.passed))
    }

    /// Makes the next claim start from the oldest due delivery.
    pub fn restart(&mut self) {
        self.from = None;
    }

    /// Whether a webhook passed over (as full) has room now, so the next claim would go back
    /// for its deliveries.
    pub fn passed_over_has_room(&self, has_room: impl Fn(&str) -> bool) -> bool {
        self.passed.keys().any(|webhook| has_room(webhook))
    }
}

/// Notes the webhooks a claim passes over.
pub struct PassedOver<'a>(&'a mut HashMap<String, DueKey>);

impl PassedOver<'_> {
    /// The claim passed over delivery `id` (due at `due`) of `webhook`.
    pub fn note(&mut self, webhook: &str, due: i64, id: &str) {
        if !self.0.contains_key(webhook) {
            self.0.insert(
                webhook.to_owned(),
                DueKey {
                    due,
                    id: id.to_owned(),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(due: i64, id: &str) -> DueKey {
        DueKey {
            due,
            id: id.to_owned(),
        }
    }

    #[test]
    fn resumes_where_the_last_claim_stopped_while_what_it_passed_over_stays_full() {
        let mut walk = Walk::default();
        let t = Instant::now();
        let (from, mut passed) = walk.next(t, |_| false);
        assert_eq!(*from, None, "the first claim starts at the oldest");
        passed.note("hanging", 1, "d1");
        passed.note("busy", 2, "d2");
        passed.note("hanging", 3, "d3");
        *from = Some(key(9, "d9"));

        let (from, _) = walk.next(t, |_| false);
        assert_eq!(*from, Some(key(9, "d9")), "nothing passed over has room");

        let (from, mut passed) = walk.next(t, |w| w == "busy");
        assert_eq!(
            *from,
            Some(key(2, "d2")),
            "back to busy's first, past hanging's"
        );
        *from = Some(key(12, "d12"));
        passed.note("busy", 5, "d5");
        let (from, _) = walk.next(t, |w| w == "hanging");
        assert_eq!(*from, Some(key(1, "d1")), "hanging's first was kept");
    }

    #[test]
    fn tells_whether_a_webhook_passed_over_has_room_again() {
        let mut walk = Walk::default();
        let t = Instant::now();
        assert!(!walk.passed_over_has_room(|_| true), "nothing passed over");
        let (from, mut passed) = walk.next(t, |_| false);
        passed.note("busy", 1, "d1");
        *from = Some(key(9, "d9"));
        assert!(!walk.passed_over_has_room(|w| w != "busy"));
        assert!(walk.passed_over_has_room(|w| w == "busy"));
        let (from, _) = walk.next(t, |w| w == "busy");
        assert_eq!(*from, Some(key(1, "d1")));
        assert!(
            !walk.passed_over_has_room(|_| true),
            "going back for it clears the note until it is passed over again"
        );
    }

    #[test]
    fn a_restart_goes_back_to_the_oldest_at_once() {
        let mut walk = Walk::default();
        let t = Instant::now();
        let (from, mut passed) = walk.next(t, |_| false);
        passed.note("busy", 1, "d1");
        *from = Some(key(9, "d9"));
        walk.restart();
        let (from, _) = walk.next(t, |_| false);
        assert_eq!(*from, None);
        assert!(
            !walk.passed_over_has_room(|_| true),
            "what was passed over is met again from the oldest"
        );
    }

    #[test]
    fn starts_from_the_oldest_again_after_a_while() {
        let mut walk = Walk::default();
        let t = Instant::now();
        let (from, mut passed) = walk.next(t, |_| false);
        passed.note("hanging", 1, "d1");
        *from = Some(key(9, "d9"));
        let (from, _) = walk.next(t + RESCAN, |_| false);
        assert_eq!(*from, None);
        let (from, _) = walk.next(t + RESCAN, |_| true);
        assert_eq!(*from, None, "what was passed over before is forgotten");
    }
}
