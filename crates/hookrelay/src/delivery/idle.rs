//! Slot connections between host slots: a small pool per `host:port`, at most
//! `per_host_connections` each, at most `max_idle_connections` in all (the one idle longest is
//! closed to make room), and none kept longer than the idle timeout
//! (`connection_idle_timeout_seconds`). A sweeper closes those that outlive it, so a host that
//! is not sent to again does not keep its sockets: an operator's thousands of hosts would
//! otherwise hold thousands of connections (up to 64 each) until each server gave up on them,
//! each with its socket and TLS state (a few KB: they wait as bare streams, `http1::Parked`).
//! The sweep goes by age alone: a connection the server closed meanwhile is found out when a
//! slot takes it up (`http1::post` then opens another).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::http1::Parked;

/// Connections not in use, by `host:port`.
pub struct IdlePool {
    idle: Mutex<Idle>,
    /// How long an unused connection is kept.
    idle_for: Duration,
    /// Most connections kept over all hosts.
    max_total: usize,
}

#[derive(Default)]
struct Idle {
    /// Each host's connections, the one put aside first at the front.
    by_host: HashMap<Arc<str>, Vec<Parked>>,
    /// How many `by_host` holds.
    total: usize,
    /// Host and `idle_since` of each connection put aside, oldest first: the connection to
    /// close for room. An entry whose connection was taken since stays until it comes up (it
    /// then names no host's oldest connection and is skipped), or until the queue outgrows
    /// the pool and is made again.
    order: VecDeque<(Arc<str>, Instant)>,
}

impl IdlePool {
    /// A pool keeping connections for `idle_for`, swept by a task on the current runtime that
    /// ends with the pool.
    pub fn start(idle_for: Duration, max_total: usize) -> Arc<Self> {
        let pool = Arc::new(Self {
            idle: Mutex::default(),
            idle_for,
            max_total,
        });
        // A connection lives at most a sweep interval beyond its timeout.
        let every = (idle_for / 4).max(Duration::from_millis(100));
        let weak = Arc::downgrade(&pool);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(pool) = Weak::upgrade(&weak) else {
                    return;
                };
                pool.sweep();
            }
        });
        pool
    }

    fn lock(&self) -> MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh(&self, conn: &Parked) -> bool {
        conn.idle_since.elapsed() < self.idle_for
    }

    /// An idle connection to `host`, if one is fresh enough.
    pub fn take(&self, host: &str) -> Option<Parked> {
        let mut idle = self.lock();
        let idle = &mut *idle;
        let conns = idle.by_host.get_mut(host)?;
        let before = conns.len();
        // The newest: the likeliest to be still open at the server.
        let conn = std::iter::from_fn(|| conns.pop()).find(|c| self.fresh(c));
        idle.total -= before - conns.len();
        if conns.is_empty() {
            idle.by_host.remove(host);
        }
        conn
    }

    /// Keeps `conn` for the next slot of `host`; at most `cap` per host, and the one idle
    /// longest over all hosts is closed when the pool is full.
    pub fn put(&self, host: &Arc<str>, conn: Parked, cap: usize) {
        if self.max_total == 0 {
            return;
        }
        let now = conn.idle_since;
        let mut closed = Vec::new();
        {
            let mut idle = self.lock();
            let idle = &mut *idle;
            let conns = idle.by_host.entry(host.clone()).or_default();
            let before = conns.len();
            conns.retain(|c| self.fresh(c));
            idle.total -= before - conns.len();
            if conns.len() >= cap {
                return;
            }
            conns.push(conn);
            idle.total += 1;
            idle.order.push_back((host.clone(), now));
            while idle.total > self.max_total {
                let Some(conn) = idle.close_oldest() else {
                    break;
                };
                closed.push(conn);
            }
            if idle.order.len() > 2 * self.max_total.max(idle.total) + 64 {
                idle.reorder();
            }
        }
        // Closed outside the lock.
        drop(closed);
    }

    /// Closes every connection idle past the timeout.
    fn sweep(&self) {
        let mut expired = Vec::new();
        {
            let mut idle = self.lock();
            let idle = &mut *idle;
            idle.by_host.retain(|_, conns| {
                let (keep, gone): (Vec<Parked>, Vec<Parked>) = std::mem::take(conns)
                    .into_iter()
                    .partition(|c| self.fresh(c));
                *conns = keep;
                expired.extend(gone);
                !conns.is_empty()
            });
            idle.total -= expired.len();
            idle.reorder();
        }
        // Closed outside the lock: a slot starting meanwhile does not wait for the sockets.
        drop(expired);
    }
}

impl Idle {
    /// Removes the connection idle longest.
    fn close_oldest(&mut self) -> Option<Parked> {
        // A second pass after the queue is made again, should only stale entries be left.
        for _ in 0..2 {
            while let Some((host, since)) = self.order.pop_front() {
                let Some(conns) = self.by_host.get_mut(&host) else {
                    continue;
                };
                // A host's connections are in the order they were put aside, so the oldest of
                // this host is its first; an entry for one taken since names none.
                if conns.first().is_some_and(|c| c.idle_since == since) {
                    let conn = conns.remove(0);
                    if conns.is_empty() {
                        self.by_host.remove(&host);
                    }
                    self.total -= 1;
                    return Some(conn);
                }
            }
            self.reorder();
        }
        None
    }

    /// Makes the queue again from the connections kept, without stale entries.
    fn reorder(&mut self) {
        let mut order: Vec<(Arc<str>, Instant)> = (self.by_host.iter())
            .flat_map(|(host, conns)| conns.iter().map(|c| (host.clone(), c.idle_since)))
            .collect();
        order.sort_unstable_by_key(|(_, since)| *since);
        self.order = order.into();
    }
}
