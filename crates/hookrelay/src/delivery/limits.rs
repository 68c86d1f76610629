//! Concurrency limits that keep one endpoint from taking everyone's capacity. The dispatcher
//! counts attempts per webhook and per host (`host:port`). A delivery starts only when both are
//! under their limit and its host has no slot yet, or a queue longer than its slots justify
//! ([`QUEUED_PER_SLOT`]); otherwise it waits in that host's queue and the next attempt to that
//! host to finish hands its slot (and connection) over, so a busy host keeps a ready backlog
//! without claiming and giving back. Webhooks at their limit, and every webhook of a host whose
//! queue is full, are left out of claims, so a hanging host holds at most its limit plus its
//! queue (one claim past full) of the global slots, and nothing else.
//!
//! A host's queue holds about [`QUEUE_HORIZON`] of its work: `per_host` deliveries for a host
//! that answers in a quarter second or slower (so a slow host's queued deliveries never wait
//! long), up to [`MAX_QUEUE_FACTOR`] times that for a fast one. A deep queue lets the publish
//! hand-off take more of a busy fast host's new deliveries (never claimed, so on PostgreSQL not
//! written a second time) and lets claims take the rest in fewer, larger batches.
//!
//! A webhook whose last attempt was slow is held to [`SLOW_WEBHOOK_CONCURRENCY`] until it
//! answers quickly again, so hundreds of hanging endpoints cannot fill the global limit either.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::ids::WebhookId;

/// In flight at once to a webhook whose last attempt was slow: enough to notice recovery,
/// too few for a hanging endpoint to take the capacity others need.
pub const SLOW_WEBHOOK_CONCURRENCY: usize = 2;

/// An attempt slower than this marks its webhook slow.
pub const SLOW_ATTEMPT: Duration = Duration::from_secs(2);

/// How much of a host's work its queue holds, at its recent pace.
pub const QUEUE_HORIZON: Duration = Duration::from_millis(250);

/// A host's queue holds at most this many times `per_host` deliveries.
pub const MAX_QUEUE_FACTOR: usize = 8;

/// A host gets a slot (and so a connection) more only while more than this many deliveries
/// per slot it has wait in its queue: a host that gets two or three deliveries at once sends
/// them one after another on one connection, where a connection each (a TLS handshake, and
/// buffers kept while idle) cost more than the wait; a burst of many gets its slots at once,
/// up to `per_host`. With 2,000 hosts this took `hosts` from three connections a host to about
/// one (bench/README.md). Only for hosts not known to be slow ([`QUEUE_WAIT`]).
pub const QUEUED_PER_SLOT: usize = 2;

/// How long a delivery waits behind its host's busy slots before it gets a slot of its own
/// (within `per_host`): an attempt that hangs holds up the deliveries queued behind it for
/// this long at most, not for its timeout. A host whose attempts take this long or longer
/// gets a slot per delivery at once, as it did before slots were shared.
pub const QUEUE_WAIT: Duration = Duration::from_secs(1);

/// Entries kept about webhooks not in flight before the maps are trimmed.
const MAX_REMEMBERED: usize = 100_000;

/// What became of an item offered to [`Limits::admit`].
#[derive(Debug, PartialEq, Eq)]
pub enum Admit<T> {
    /// Send it now.
    Now(T),
    /// It waits in its host's queue; [`Limits::finish`] hands it out.
    Queued,
    /// Its webhook is at its limit: give it back.
    Refused(T),
}

/// What finishing an attempt freed.
#[derive(Debug, PartialEq, Eq)]
pub struct Finished<T> {
    /// The webhook or host had been at its limit, so work left out of claims may go again.
    pub was_full: bool,
    /// A queued item that takes over the finished attempt's slot on the host.
    pub next: Option<T>,
}

/// In-flight counts per webhook and per host, and each host's queue of items `T`.
pub struct Limits<T> {
    per_webhook: usize,
    per_host: usize,
    state: Mutex<State<T>>,
}

struct State<T> {
    webhooks: HashMap<WebhookId, usize>,
    /// Attempts being sent to each host.
    hosts: HashMap<Arc<str>, usize>,
    /// Each host's waiting items, with when they began to wait.
    queues: HashMap<Arc<str>, VecDeque<(T, Instant)>>,
    /// Each host's recent attempt time in microseconds, a moving average.
    pace: HashMap<Arc<str>, u64>,
    /// The host each recently seen webhook delivers to, to skip webhooks of full hosts.
    host_of: HashMap<WebhookId, Arc<str>>,
    slow: HashSet<WebhookId>,
}

impl<T> State<T> {
    fn webhook_limit(&self, webhook: &str, per_webhook: usize) -> usize {
        if self.slow.contains(webhook) {
            SLOW_WEBHOOK_CONCURRENCY.min(per_webhook)
        } else {
            per_webhook
        }
    }

    /// How many deliveries `host`'s queue holds: [`QUEUE_HORIZON`] of its work at its recent
    /// pace, between `per_host` (also for a host not yet heard from) and
    /// [`MAX_QUEUE_FACTOR`] times that.
    fn depth(&self, host: &str, per_host: usize) -> usize {
        let most = per_host * MAX_QUEUE_FACTOR;
        match self.pace.get(host) {
            Some(&micros) => {
                let horizon = QUEUE_HORIZON.as_micros() as u64;
                let depth = (per_host as u64).saturating_mul(horizon) / micros.max(1);
                (depth.min(most as u64) as usize).max(per_host)
            }
            None => per_host,
        }
    }

    /// Folds an attempt's time into `host`'s pace (an average weighted 1/8 to the newest).
    fn record_pace(&mut self, host: &str, took: Duration) {
        let micros = took.as_micros().min(u128::from(u64::MAX)) as u64;
        if let Some(pace) = self.pace.get_mut(host) {
            *pace = (pace.saturating_mul(7).saturating_add(micros)) / 8;
            return;
        }
        if self.pace.len() > MAX_REMEMBERED {
            self.pace.clear();
        }
        self.pace.insert(Arc::from(host), micros);
    }

    fn queued(&self, host: &str) -> usize {
        self.queues.get(host).map_or(0, VecDeque::len)
    }

    fn host(&mut self, webhook: &WebhookId, host: &str) -> Arc<str> {
        let host: Arc<str> = match self.host_of.get(webhook) {
            Some(known) if &**known == host => return known.clone(),
            _ => Arc::from(host),
        };
        if self.host_of.len() > MAX_REMEMBERED {
            self.host_of.clear();
        }
        self.host_of.insert(webhook.clone(), host.clone());
        host
    }
}

impl<T> Limits<T> {
    /// At most `per_webhook` attempts at once to one webhook (fewer while it is slow), and
    /// `per_host` being sent to one host.
    pub fn new(per_webhook: usize, per_host: usize) -> Self {
        Self {
            per_webhook,
            per_host,
            state: Mutex::new(State {
                webhooks: HashMap::new(),
                hosts: HashMap::new(),
                queues: HashMap::new(),
                host_of: HashMap::new(),
                pace: HashMap::new(),
                slow: HashSet::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Offers `item`, a claimed delivery of `webhook` to `host`. What starts may be the host's
    /// oldest queued item instead, when `item` makes its queue long enough for a slot more.
    pub fn admit(&self, webhook: &WebhookId, host: &str, item: T) -> Admit<T> {
        let mut state = self.lock();
        let host = state.host(webhook, host);
        let limit = state.webhook_limit(webhook.as_str(), self.per_webhook);
        if state.webhooks.get(webhook).copied().unwrap_or(0) >= limit {
            return Admit::Refused(item);
        }
        *state.webhooks.entry(webhook.clone()).or_insert(0) += 1;
        let sending = state.hosts.entry(host.clone()).or_insert(0);
        if *sending == 0 {
            *sending = 1;
            return Admit::Now(item);
        }
        // Never refused for the host's sake: giving back costs a write and a re-claim. The
        // queue is bounded by the global slots and by claims skipping a full host.
        let sending = *sending;
        let slow = state
            .pace
            .get(&host)
            .is_some_and(|&micros| micros >= QUEUE_WAIT.as_micros() as u64);
        let queue = state.queues.entry(host.clone()).or_default();
        queue.push_back((item, Instant::now()));
        if sending < self.per_host
            && (slow || queue.len() > QUEUED_PER_SLOT * sending)
            && let Some((first, _)) = queue.pop_front()
        {
            *state.hosts.entry(host).or_insert(0) += 1;
            return Admit::Now(first);
        }
        Admit::Queued
    }

    /// Whether a delivery of `webhook` to `host` would be admitted or queued without filling
    /// the host's queue, on top of `promised_webhook` and `promised_host` deliveries already
    /// promised but not yet offered to [`Limits::admit`].
    pub fn has_room(
        &self,
        webhook: &WebhookId,
        host: &str,
        promised_webhook: usize,
        promised_host: usize,
    ) -> bool {
        let state = self.lock();
        let limit = state.webhook_limit(webhook.as_str(), self.per_webhook);
        if state.webhooks.get(webhook).copied().unwrap_or(0) + promised_webhook >= limit {
            return false;
        }
        let load = state.hosts.get(host).copied().unwrap_or(0) + state.queued(host);
        load + promised_host < self.per_host + state.depth(host, self.per_host)
    }

    /// Ends an attempt of `webhook` to `host` that took `took` (`None`: no attempt was made).
    /// A queued item of the same host, if any, takes over its slot.
    pub fn finish(&self, webhook: &WebhookId, host: &str, took: Option<Duration>) -> Finished<T> {
        let mut state = self.lock();
        let limit = state.webhook_limit(webhook.as_str(), self.per_webhook);
        let was_full_host = state.queued(host) >= state.depth(host, self.per_host);
        if let Some(took) = took {
            if took >= SLOW_ATTEMPT {
                if state.slow.len() > MAX_REMEMBERED {
                    state.slow.clear();
                }
                state.slow.insert(webhook.clone());
            } else {
                state.slow.remove(webhook);
            }
            state.record_pace(host, took);
        }
        let mut webhook_was_full = false;
        if let Some(count) = state.webhooks.get_mut(webhook) {
            webhook_was_full = *count >= limit;
            *count -= 1;
            if *count == 0 {
                state.webhooks.remove(webhook);
            }
        }
        let next = (state.queues.get_mut(host))
            .and_then(VecDeque::pop_front)
            .map(|(item, _)| item);
        if let Some(queue) = state.queues.get(host)
            && queue.is_empty()
        {
            state.queues.remove(host);
        }
        let queued = state.queued(host);
        if next.is_none()
            && let Some(count) = state.hosts.get_mut(host)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.hosts.remove(host);
            }
        }
        // Claims pass over every webhook of a host whose queue is full, so a webhook dropping
        // below its limit frees work for them only if its host's queue has room; and only the
        // finish that takes the queue below full frees the host (a claim may overshoot it: one
        // taking the queue from far over full down by one frees nothing). The host's pace may
        // have moved what full is, either way.
        let host_full = queued >= state.depth(host, self.per_host);
        let host_freed = was_full_host && !host_full;
        Finished {
            was_full: (webhook_was_full && !host_full) || host_freed,
            next,
        }
    }

    /// Puts `item`, just handed out by [`Limits::finish`], back at the front of `host`'s
    /// queue, for [`Limits::drain`] (at shutdown, when it is not to be sent).
    pub fn put_back(&self, host: &Arc<str>, item: T) {
        self.lock()
            .queues
            .entry(host.clone())
            .or_default()
            .push_front((item, Instant::now()));
    }

    /// Takes the items that have waited [`QUEUE_WAIT`] or longer behind their host's slots,
    /// each with its host, and counts a slot more for each (within `per_host`): the caller
    /// starts them.
    pub fn overdue(&self) -> Vec<(Arc<str>, T)> {
        let mut state = self.lock();
        let state = &mut *state;
        let mut due = Vec::new();
        state.queues.retain(|host, queue| {
            let sending = state.hosts.entry(host.clone()).or_insert(0);
            while *sending < self.per_host
                && queue
                    .front()
                    .is_some_and(|(_, since)| since.elapsed() >= QUEUE_WAIT)
                && let Some((item, _)) = queue.pop_front()
            {
                *sending += 1;
                due.push((host.clone(), item));
            }
            !queue.is_empty()
        });
        due
    }

    /// Takes every host's queued items, oldest first per host (at shutdown, to give them back).
    pub fn drain(&self) -> Vec<T> {
        self.lock()
            .queues
            .drain()
            .flat_map(|(_, queue)| queue.into_iter().map(|(item, _)| item))
            .collect()
    }

    /// How many hosts have deliveries queued, and the most queued for one (for metrics; it
    /// takes the lock, so a scrape reads it at most once per refresh).
    pub fn backlog(&self) -> (usize, usize) {
        let state = self.lock();
        let longest = state.queues.values().map(VecDeque::len).max().unwrap_or(0);
        (state.queues.len(), longest)
    }

    /// How many more deliveries of `webhook` a claim may take: what is left of its limit, or
    /// none while the host it is known to deliver to has a full queue.
    pub fn room(&self, webhook: &str) -> usize {
        let state = self.lock();
        if let Some(host) = state.host_of.get(webhook)
            && state.queued(host) >= state.depth(host, self.per_host)
        {
            return 0;
        }
        let in_flight = state.webhooks.get(webhook).copied().unwrap_or(0);
        state
            .webhook_limit(webhook, self.per_webhook)
            .saturating_sub(in_flight)
    }
}

/// The `host:port` a URL connects to, the unit of the per-host limit; a broker's is
/// `scheme://host:port`, which no HTTP host's key (nor idle connection) shares.
pub fn host_key(url: &str) -> String {
    if crate::model::broker_url::BrokerKind::of_url(url).is_some()
        && let Ok(u) = url::Url::parse(url)
        && let Some(broker) = crate::model::WebhookUrl::from_trusted(u).broker()
    {
        return format!("{}://{}:{}", broker.kind.scheme(), broker.host, broker.port);
    }
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}:{}",
            u.host_str().unwrap_or_default(),
            u.port_or_known_default().unwrap_or_default()
        ),
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "a.example:443";
    /// Quick enough not to mark a webhook slow, slow enough to keep its host's queue at
    /// `per_host`.
    const QUICK: Duration = QUEUE_HORIZON;
    const SLOW: Duration = SLOW_ATTEMPT;

    #[test]
    fn a_webhook_at_its_limit_is_skipped_until_a_slot_frees() {
        let limits = Limits::new(2, 64);
        let w = WebhookId::generate();
        assert_eq!(limits.admit(&w, HOST, 1), Admit::Now(1));
        assert_eq!(limits.admit(&w, HOST, 2), Admit::Queued);
        assert_eq!(limits.admit(&w, HOST, 3), Admit::Refused(3));
        assert_eq!(limits.room(w.as_str()), 0);
        let f = limits.finish(&w, HOST, Some(QUICK));
        assert!(f.was_full);
        assert_eq!(f.next, Some(2));
        assert_eq!(limits.room(w.as_str()), 1);
        let f = limits.finish(&w, HOST, None);
        assert!(!f.was_full && f.next.is_none());
        assert!(
            !limits.finish(&w, HOST, None).was_full,
            "finishing more than started is harmless"
        );
    }

    #[test]
    fn a_webhook_below_its_limit_frees_nothing_while_its_host_queue_is_full() {
        let limits = Limits::new(1, 1);
        let (a, b, c) = (
            WebhookId::generate(),
            WebhookId::generate(),
            WebhookId::generate(),
        );
        assert_eq!(limits.admit(&a, HOST, "a1"), Admit::Now("a1"));
        assert_eq!(limits.admit(&b, HOST, "b1"), Admit::Queued);
        assert_eq!(limits.admit(&c, HOST, "c1"), Admit::Queued);
        let f = limits.finish(&a, HOST, Some(QUICK));
        assert_eq!(f.next, Some("b1"));
        assert!(
            !f.was_full,
            "a is below its limit, but a claim would pass it over: its host's queue is full"
        );
        assert_eq!(limits.room(a.as_str()), 0);
        let f = limits.finish(&b, HOST, Some(QUICK));
        assert_eq!(f.next, Some("c1"));
        assert!(f.was_full, "the host's queue is below full: a and b may go");
        assert_eq!(limits.room(a.as_str()), 1);
    }

    #[test]
    fn a_slow_webhook_is_held_to_a_small_limit_until_it_answers_quickly() {
        let limits = Limits::new(8, 64);
        let w = WebhookId::generate();
        assert_eq!(limits.admit(&w, HOST, 0), Admit::Now(0));
        limits.finish(&w, HOST, Some(SLOW));
        // Its host is slow too: a slot each, at once.
        assert_eq!(limits.admit(&w, HOST, 1), Admit::Now(1));
        assert_eq!(limits.admit(&w, HOST, 2), Admit::Now(2));
        assert_eq!(SLOW_WEBHOOK_CONCURRENCY, 2);
        assert_eq!(
            limits.admit(&w, HOST, 9),
            Admit::Refused(9),
            "slow: held to the small limit"
        );
        assert_eq!(limits.finish(&w, HOST, Some(QUICK)).next, None);
        for i in 3..8 {
            assert_ne!(
                limits.admit(&w, HOST, i),
                Admit::Refused(i),
                "a quick answer lifts it"
            );
        }
    }

    #[test]
    fn a_busy_host_queues_hands_slots_over_and_is_skipped_once_its_queue_is_full() {
        let limits = Limits::new(8, 1);
        let (a, b, c) = (
            WebhookId::generate(),
            WebhookId::generate(),
            WebhookId::generate(),
        );
        assert_eq!(limits.admit(&a, HOST, "a1"), Admit::Now("a1"));
        assert_eq!(limits.admit(&a, HOST, "a2"), Admit::Queued);
        assert_eq!(limits.room(a.as_str()), 0, "the queue holds per_host");
        let other = WebhookId::generate();
        assert_eq!(
            limits.admit(&other, "b.example:443", "x"),
            Admit::Now("x"),
            "other hosts go on"
        );
        assert_eq!(limits.room(other.as_str()), 7);
        assert_eq!(limits.room(c.as_str()), 8, "a webhook not seen yet");
        assert_eq!(
            limits.admit(&b, HOST, "b1"),
            Admit::Queued,
            "never refused for the host"
        );
        assert_eq!(limits.room(b.as_str()), 0);
        let f = limits.finish(&a, HOST, Some(QUICK));
        assert_eq!(f.next, Some("a2"), "the first queued takes the slot");
        assert!(
            !f.was_full,
            "one queued past full: still full, claims would find nothing"
        );
        let f = limits.finish(&a, HOST, Some(QUICK));
        assert_eq!(f.next, Some("b1"));
        assert!(f.was_full, "the queue is below full again");
        assert_eq!(limits.room(a.as_str()), 8, "room in the queue again");
        assert_eq!(limits.finish(&b, HOST, Some(QUICK)).next, None);
        assert_eq!(
            limits.admit(&c, HOST, "c1"),
            Admit::Now("c1"),
            "the slot is free again"
        );
    }

    #[test]
    fn a_host_gets_a_slot_more_only_while_its_queue_outgrows_its_slots() {
        let limits = Limits::new(100, 3);
        let w = WebhookId::generate();
        assert_eq!(limits.admit(&w, HOST, 1), Admit::Now(1));
        assert_eq!(
            limits.admit(&w, HOST, 2),
            Admit::Queued,
            "a second waits for the first's connection"
        );
        assert_eq!(limits.admit(&w, HOST, 3), Admit::Queued);
        assert_eq!(
            limits.admit(&w, HOST, 4),
            Admit::Now(2),
            "three waiting for one slot: a second starts, with the oldest"
        );
        assert_eq!(limits.admit(&w, HOST, 5), Admit::Queued);
        assert_eq!(limits.admit(&w, HOST, 6), Admit::Queued);
        assert_eq!(limits.admit(&w, HOST, 7), Admit::Now(3));
        for i in 8..20 {
            assert_eq!(limits.admit(&w, HOST, i), Admit::Queued, "per_host at most");
        }
        let f = limits.finish(&w, HOST, Some(QUICK));
        assert_eq!(f.next, Some(4), "in the order they came");
        for _ in 0..3 {
            limits.finish(&w, HOST, Some(QUICK));
        }
        // Every queued delivery is handed over as slots finish (19 in all, 3 started and 4
        // handed over so far), then each slot ends.
        let mut handed = 0;
        while limits.finish(&w, HOST, Some(QUICK)).next.is_some() {
            handed += 1;
        }
        assert_eq!(handed, 19 - 3 - 4);
        for _ in 0..2 {
            assert_eq!(limits.finish(&w, HOST, Some(QUICK)).next, None);
        }
        assert_eq!(
            limits.admit(&w, HOST, 30),
            Admit::Now(30),
            "no slot left: the next goes at once"
        );
    }

    #[test]
    fn a_delivery_waits_behind_its_hosts_slots_at_most_queue_wait() {
        let limits = Limits::new(100, 4);
        let w = WebhookId::generate();
        assert_eq!(limits.admit(&w, HOST, 1), Admit::Now(1));
        assert_eq!(limits.admit(&w, HOST, 2), Admit::Queued);
        assert!(limits.overdue().is_empty(), "not waited long yet");
        std::thread::sleep(QUEUE_WAIT);
        assert_eq!(limits.admit(&w, HOST, 3), Admit::Queued);
        let due = limits.overdue();
        assert_eq!(due.len(), 1, "only the one that waited long enough");
        assert_eq!((&*due[0].0, due[0].1), (HOST, 2));
        // Two slots now: each finishing slot takes the next, then both end.
        assert_eq!(limits.finish(&w, HOST, Some(QUICK)).next, Some(3));
        assert_eq!(limits.finish(&w, HOST, Some(QUICK)).next, None);
        assert_eq!(limits.finish(&w, HOST, Some(QUICK)).next, None);
        assert_eq!(
            limits.admit(&w, HOST, 4),
            Admit::Now(4),
            "no slot left busy"
        );
    }

    #[test]
    fn room_counts_promises_against_the_webhook_limit_and_twice_the_host_limit() {
        let limits: Limits<&str> = Limits::new(2, 2);
        let a = WebhookId::from_trusted("wh_a");
        let b = WebhookId::from_trusted("wh_b");
        assert!(limits.has_room(&a, HOST, 0, 0));
        assert!(limits.has_room(&a, HOST, 1, 1));
        assert!(
            !limits.has_room(&a, HOST, 2, 0),
            "two promised: the webhook is full"
        );
        assert_eq!(limits.admit(&a, HOST, "a1"), Admit::Now("a1"));
        assert!(
            !limits.has_room(&a, HOST, 1, 0),
            "one sending, one promised"
        );
        assert!(
            limits.has_room(&b, HOST, 0, 2),
            "host: one sending, two promised, of four"
        );
        assert!(
            !limits.has_room(&b, HOST, 0, 3),
            "the host's slots and queue are spoken for"
        );
        assert!(
            limits.has_room(&b, "other:443", 0, 0),
            "hosts are counted apart"
        );
    }

    #[test]
    fn a_fast_hosts_queue_deepens_and_shrinks_back_as_it_slows() {
        let limits: Limits<u32> = Limits::new(1000, 2);
        let w = WebhookId::generate();
        let answered_in = |took: Duration| {
            assert_eq!(limits.admit(&w, HOST, 0), Admit::Now(0));
            assert_eq!(limits.finish(&w, HOST, Some(took)).next, None);
        };
        assert!(limits.has_room(&w, HOST, 0, 3));
        assert!(
            !limits.has_room(&w, HOST, 0, 4),
            "a host not heard from queues per_host deliveries"
        );
        answered_in(Duration::from_millis(1));
        assert!(limits.has_room(&w, HOST, 0, 2 + 2 * MAX_QUEUE_FACTOR - 1));
        assert!(
            !limits.has_room(&w, HOST, 0, 2 + 2 * MAX_QUEUE_FACTOR),
            "a quarter second of a fast host's work is past the most it queues"
        );
        answered_in(Duration::from_secs(1));
        assert!(
            !limits.has_room(&w, HOST, 0, 2 + 2 * MAX_QUEUE_FACTOR - 1),
            "one slow answer shortens the queue at once"
        );
        for _ in 0..8 {
            answered_in(Duration::from_secs(1));
        }
        assert!(limits.has_room(&w, HOST, 0, 3));
        assert!(
            !limits.has_room(&w, HOST, 0, 4),
            "a slow host queues per_host deliveries"
        );
    }

    #[test]
    fn what_is_put_back_is_drained_with_the_rest_of_the_queues() {
        let limits = Limits::new(8, 1);
        let (a, b) = (WebhookId::generate(), WebhookId::generate());
        assert_eq!(limits.admit(&a, HOST, "a1"), Admit::Now("a1"));
        assert_eq!(limits.admit(&a, HOST, "a2"), Admit::Queued);
        assert_eq!(limits.admit(&a, HOST, "a3"), Admit::Queued);
        assert_eq!(limits.admit(&b, "b.example:443", "b1"), Admit::Now("b1"));
        assert_eq!(limits.admit(&b, "b.example:443", "b2"), Admit::Queued);
        let next = limits.finish(&a, HOST, Some(QUICK)).next.unwrap();
        assert_eq!(next, "a2");
        limits.put_back(&Arc::from(HOST), next);
        let mut left = limits.drain();
        left.sort_unstable();
        assert_eq!(left, ["a2", "a3", "b2"]);
        assert!(limits.drain().is_empty());
    }

    #[test]
    fn hosts_are_keyed_by_host_and_port() {
        assert_eq!(host_key("https://a.example/x"), "a.example:443");
        assert_eq!(host_key("http://127.0.0.1:3000/y"), "127.0.0.1:3000");
        assert_eq!(
            host_key("redis://u:p@127.0.0.1/s"),
            "redis://127.0.0.1:6379"
        );
    }
}
