//! Slot connections between host slots: a small pool per `host:port`, at most
//! `per_host_connections` each, and none kept longer than the idle timeout
//! (`connection_idle_timeout_seconds`). A sweeper closes those that outlive it, so a host that
//! is not sent to again does not keep its sockets: an operator's thousands of hosts would
//! otherwise hold thousands of connections (up to 64 each) until each server gave up on them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::http1::Conn;

/// Connections not in use, by `host:port`.
pub struct IdlePool {
    by_host: Mutex<HashMap<Arc<str>, Vec<Conn>>>,
    /// How long an unused connection is kept.
    idle_for: Duration,
}

impl IdlePool {
    /// A pool keeping connections for `idle_for`, swept by a task on the current runtime that
    /// ends with the pool.
    pub fn start(idle_for: Duration) -> Arc<Self> {
        let pool = Arc::new(Self {
            by_host: Mutex::default(),
            idle_for,
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

    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Vec<Conn>>> {
        self.by_host.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh(&self, conn: &Conn) -> bool {
        conn.idle_since.elapsed() < self.idle_for
    }

    /// An idle connection to `host`, if one is fresh enough.
    pub fn take(&self, host: &str) -> Option<Conn> {
        let mut by_host = self.lock();
        let idle = by_host.get_mut(host)?;
        let conn = std::iter::from_fn(|| idle.pop()).find(|c| self.fresh(c));
        if idle.is_empty() {
            by_host.remove(host);
        }
        conn
    }

    /// Keeps `conn` for the next slot of `host`; at most `cap` per host.
    pub fn put(&self, host: &Arc<str>, mut conn: Conn, cap: usize) {
        if conn.is_closed() {
            return;
        }
        conn.idle_since = Instant::now();
        let mut by_host = self.lock();
        let idle = by_host.entry(host.clone()).or_default();
        idle.retain(|c| self.fresh(c));
        if idle.len() < cap {
            idle.push(conn);
        }
    }

    /// Closes every connection idle past the timeout (or closed by its server meanwhile).
    fn sweep(&self) {
        let mut expired = Vec::new();
        {
            let mut by_host = self.lock();
            by_host.retain(|_, idle| {
                let (keep, gone): (Vec<Conn>, Vec<Conn>) = std::mem::take(idle)
                    .into_iter()
                    .partition(|c| self.fresh(c) && !c.is_closed());
                *idle = keep;
                expired.extend(gone);
                !idle.is_empty()
            });
        }
        // Closed outside the lock: a slot starting meanwhile does not wait for the sockets.
        drop(expired);
    }
}
