//! Leases kept in memory, for SQLite and PostgreSQL (where each node claims only from the
//! partitions of the queue it owns: see `postgres/membership.rs`). One
//! process delivers from an SQLite file (the delivery lock, [`DeliveryLock`], enforces it), so a
//! lease need not be written to the database: a claim becomes a read (on SQLite, on a reader
//! connection, never waiting for the single writer, which under load is busy with publishes and
//! records). If the process dies, its leases die with it, and after the restart every unfinished
//! delivery is simply due.
//!
//! The one subtlety is that a claim reads from a snapshot. A delivery whose attempt is recorded
//! while a claim reads may still look due to that claim; so a lease ended while any claim reads is
//! only *retired*, and kept held until the last such claim is done.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Makes due at once (`$1`, now) the deliveries a previous run of this node took and never
/// finished, which would otherwise wait for their leases: pending, never attempted
/// (`attempts = 0`), created before this run started (`$3`) and due after now but no later than
/// a lease from now (`$2`). Run only by a node sure that no other node holds leases (the
/// delivery lock's holder on SQLite, a PostgreSQL node whose first check finds it alone), before it
/// takes or claims anything itself.
///
/// Why these rows and no others. A lease written into a row is a due time pushed past now by
/// at most a lease: only the publish hand-off writes one (`shared/publish.rs`: a delivery the
/// publishing node sends itself is written due at the lease's end), plus, on PostgreSQL, a
/// node's leases written as it gives partitions up or stops (`postgres/membership.rs`). Such a
/// delivery has `attempts = 0` until its attempt is recorded. A retry is written by the
/// recorder with its attempt, so it has `attempts >= 1` and keeps its schedule; a parked
/// delivery is due at NULL, outside the window. The only
/// other never-attempted delivery due in the future is one a rate limit deferred (`release`):
/// after a restart the rate limiter starts afresh anyway, and it is deferred again if need be.
/// Leases of claims already attempted (`attempts >= 1`) are left to expire: rare, and making
/// them due early would look like a retry ahead of its schedule. The statement runs once per
/// start and costs nothing on the hot path; the due index finds the window.
pub(crate) const RESUME_ABANDONED: &str = "UPDATE deliveries SET next_attempt_at = $1 \
     WHERE status = 'pending' AND attempts = 0 AND next_attempt_at > $1 \
     AND next_attempt_at <= $2 AND created_at < $3";

/// Held leases before expired ones are swept out (they expire only when their holder lost
/// them, as an attempt abandoned after waiting too long does).
const SWEEP_AT: usize = 4096;

/// The deliveries this process has leased, each until when (unix ms).
#[derive(Default)]
pub struct Leases {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    held: HashMap<String, i64>,
    /// Claims reading now.
    readers: usize,
    /// Leases ended while a claim was reading: held until no claim is.
    retired: Vec<String>,
    sweep_at: usize,
}

impl Leases {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks a claim as reading until the guard drops. Call it before the claim's first read.
    pub fn reading(&self, now: i64) -> Reading<'_> {
        let mut inner = self.lock();
        inner.readers += 1;
        if inner.held.len() >= inner.sweep_at.max(SWEEP_AT) {
            inner.held.retain(|_, until| *until > now);
            inner.sweep_at = inner.held.len() * 2;
        }
        Reading { leases: self }
    }

    /// The held leases as of `now`, to filter a claim's candidates with.
    pub fn view(&self, now: i64) -> View<'_> {
        View {
            inner: self.lock(),
            now,
        }
    }

    /// Leases `ids` until `until`.
    pub fn hold<'a>(&self, ids: impl IntoIterator<Item = &'a str>, until: i64) {
        let mut inner = self.lock();
        for id in ids {
            inner.held.insert(id.to_owned(), until);
        }
    }

    /// Ends the leases of `ids`, whose new state has been committed.
    pub fn end<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut inner = self.lock();
        if inner.readers == 0 {
            for id in ids {
                inner.held.remove(id);
            }
            return;
        }
        for id in ids {
            if let Some(until) = inner.held.get_mut(id) {
                // Retired: never expires, ends when the readers are done.
                *until = i64::MAX;
                inner.retired.push(id.to_owned());
            }
        }
    }

    /// The leases held as of `now`, with their ends, but not those retired (already ended).
    pub fn held(&self, now: i64) -> Vec<(String, i64)> {
        self.lock()
            .held
            .iter()
            .filter(|(_, until)| **until > now && **until != i64::MAX)
            .map(|(id, until)| (id.clone(), *until))
            .collect()
    }

    /// The ids held as of `now`.
    pub fn held_ids(&self, now: i64) -> Vec<String> {
        self.lock()
            .held
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// A claim reading; see [`Leases::reading`].
pub struct Reading<'a> {
    leases: &'a Leases,
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        let mut inner = self.leases.lock();
        inner.readers = inner.readers.saturating_sub(1);
        if inner.readers == 0 {
            let retired = std::mem::take(&mut inner.retired);
            for id in &retired {
                inner.held.remove(id);
            }
        }
    }
}

/// The held leases, locked while a page of candidates is filtered.
pub struct View<'a> {
    inner: MutexGuard<'a, Inner>,
    now: i64,
}

impl View<'_> {
    /// Whether `id` is leased.
    pub fn holds(&self, id: &str) -> bool {
        self.inner
            .held
            .get(id)
            .is_some_and(|until| *until > self.now)
    }
}

/// The right to use one SQLite file, held while this process serves, whatever its role: an
/// exclusive advisory lock on `<file>.lock`, which the operating system releases when the
/// process ends in any way (`kill -9` included), so a crash never leaves the file locked.
#[derive(Debug)]
pub struct DeliveryLock {
    _file: Option<File>,
}

impl DeliveryLock {
    /// Nothing to lock: the database coordinates its nodes itself (PostgreSQL), or lives only
    /// in this process's memory.
    pub fn none() -> Self {
        Self { _file: None }
    }

    /// Locks the file beside `database`, or says which process must stop first.
    pub fn acquire(database: &Path) -> anyhow::Result<Self> {
        let path = lock_path(database);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: Some(file) }),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another hookrelay process is using {}: SQLite allows one process per database \
                 file (stop the other first, or use PostgreSQL to run several nodes)",
                database.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                anyhow::bail!("locking {}: {e}", path.display())
            }
        }
    }
}

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_holds_until_it_ends_or_expires() {
        let leases = Leases::default();
        leases.hold(["a", "b"], 100);
        assert!(leases.view(99).holds("a"));
        assert!(!leases.view(100).holds("a"), "expired at its end");
        leases.end(["a"]);
        assert!(!leases.view(0).holds("a"));
        assert!(leases.view(0).holds("b"));
        assert_eq!(leases.held_ids(50), ["b"]);
        assert!(leases.held_ids(100).is_empty());
    }

    #[test]
    fn a_lease_ended_while_a_claim_reads_holds_until_every_reader_is_done() {
        let leases = Leases::default();
        leases.hold(["a"], 100);
        let first = leases.reading(0);
        let second = leases.reading(0);
        leases.end(["a"]);
        assert!(
            leases.view(1_000).holds("a"),
            "retired: held, past its expiry too, while claims read"
        );
        drop(first);
        assert!(leases.view(0).holds("a"));
        drop(second);
        assert!(!leases.view(0).holds("a"));
        let _third = leases.reading(0);
        assert!(!leases.view(0).holds("a"), "not retired twice");
    }

    #[test]
    fn expired_leases_are_swept_once_many_are_held() {
        let leases = Leases::default();
        let ids: Vec<String> = (0..SWEEP_AT).map(|i| format!("d{i}")).collect();
        leases.hold(ids.iter().map(String::as_str), 10);
        leases.hold(["live"], 1_000);
        drop(leases.reading(500));
        assert_eq!(leases.lock().held.len(), 1);
        assert!(leases.view(500).holds("live"));
    }

    #[test]
    fn the_delivery_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hookrelay.db");
        let first = DeliveryLock::acquire(&db).unwrap();
        let refused = DeliveryLock::acquire(&db).unwrap_err().to_string();
        assert!(refused.contains("another hookrelay process"), "{refused}");
        drop(first);
        DeliveryLock::acquire(&db).unwrap();
    }
}
