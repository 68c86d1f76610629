//! Which partitions of the due queue this node claims from (`partitions.rs`). Writing a lease
//! into every claimed delivery row (a new row version and an entry in each of its indexes) was a
//! third of the database's work under load, yet a written lease only matters to another node
//! that could claim the same rows. So each delivering node owns partitions of the queue, no two
//! nodes the same, claims only from its own, and keeps its leases in memory, as SQLite does: its
//! claims only read. A node alone owns every partition (what was once the "solo" node).
//!
//! Session-level advisory locks, held on a connection of the node's own, say who owns what:
//! every delivering node holds [`PRESENT`] shared (for as long as it runs), and one exclusive
//! lock per partition it owns. At most every [`CHECK_EVERY`], at the start of a claim, a node
//! looks at the locks (`pg_locks`) and moves toward its fair share: it takes free partitions,
//! and gives up those another node lacks, but only after writing the leases it holds for
//! deliveries in them into their rows: letting go first would let the new owner claim what this
//! node is sending. A claim and a check never overlap (one mutex), so nothing is claimed from a
//! partition while it is given up, and the new owner's claims start after the unlock, so they
//! see the written leases.
//!
//! A node that dies loses its locks with its session (the server notices a vanished client
//! within half a minute, through the keepalives below), and the others take its partitions at
//! their next checks: what it held in memory is simply due again, sent a second time if it was
//! in flight (at-least-once, as for a single node restarted after `kill -9`). If the lock
//! connection is lost but the node lives, it writes its leases and stops claiming until it has
//! locks again; a node that took over in between may still claim (and send again) what it held
//! before the write: the one way this costs a duplicate that a lease written per row would not.

use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, PgPool};
use tracing::{info, warn};

use super::partitions::{self, ALL, BIT, COUNT, Census, Moves};
use crate::store::leases::Leases;

/// Held shared by every delivering node. The first half of an advisory lock key ("hkr" and a
/// number); the second is a hash of the schema, so that hookrelay deployments in different
/// schemas of one database (advisory locks are per database) never see each other's.
const PRESENT: i32 = 0x686b_7201;
/// Held by nodes of releases before partitions, which claimed alone (exclusive) or with a lease
/// written per row (shared), whatever partitions say: while any session holds it, this node
/// owns nothing.
const CLAIM: i32 = 0x686b_7202;
/// The first of [`COUNT`] keys, one per partition, each held exclusively by its owner.
const PARTITION: i32 = 0x686b_7300;

/// The second half of the lock keys, as SQL.
pub(super) const SCHEMA_KEY: &str = "hashtext(current_schema())";

/// How often a node looks at the others, at the start of a claim. A newcomer owns its share
/// about this long (plus the others' lease writes) after it starts; longer only while every one
/// of their global slots is busy, as they then start no claim until one is free.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// A node whose lock session ran no statement for this long is not checking in (its claim loop
/// waits for slots, or it is stopping): it keeps what it owns, but fair shares leave it out, so
/// no partition is given up for a node that would not take it.
const CHECKING_IN: Duration = Duration::from_secs(10);

/// Longest a lock statement may take before the connection counts as lost.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// The lock connection and the session's id (`pg_backend_pid`), by which `pg_locks` names it.
struct Session {
    conn: PgConnection,
    pid: i32,
}

/// This node's locks and the partitions they let it claim from.
pub struct Membership {
    options: PgConnectOptions,
    session: Option<Session>,
    owned: u64,
    checked: Option<Instant>,
    /// When this run started and the lease, until the first check: see
    /// [`Membership::resume_when_alone`].
    resume: Option<(i64, i64)>,
    /// Whether a node of an older release was seen at the last check.
    older: bool,
}

/// What a claim may read, after [`Membership::settle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owned {
    /// The partitions owned (bit `p` for partition `p`; none while the locks are not held).
    pub mask: u64,
    /// Whether partitions were taken since the last claim: a walk resumed mid-queue would
    /// miss what is due in them before where it resumes.
    pub grew: bool,
}

impl Membership {
    /// Nothing held yet: the first claim connects and takes the locks.
    pub fn new(options: PgConnectOptions) -> Self {
        // The server notices a vanished node (and drops its locks) within half a minute.
        let options = options.options([
            ("tcp_keepalives_idle", "10"),
            ("tcp_keepalives_interval", "5"),
            ("tcp_keepalives_count", "3"),
        ]);
        Self {
            options,
            session: None,
            owned: 0,
            checked: None,
            resume: None,
            older: false,
        }
    }

    /// Makes the deliveries a previous run left leased in their rows due at once
    /// (`leases::RESUME_ABANDONED`) if this node's first check finds it alone and it takes
    /// every partition: no other node is in [`PRESENT`], so none takes or claims deliveries,
    /// and a node gone from it has died (its session closed) or finished its attempts (it lets
    /// go after them). Its own publishes took only deliveries created since `started`, which the
    /// statement leaves alone. If the first check finds another node, nothing is resumed, now or
    /// later: leases in rows are then another live node's as likely as a dead run's (its
    /// publish hand-offs go to any partition, and a node giving partitions up writes its leases
    /// into them), and taking a partition cannot tell them apart, so they simply expire. The one
    /// case this can cost a duplicate is the one this module's comment names: a node that lost
    /// its lock connection but still sends what it took.
    pub fn resume_when_alone(&mut self, started: i64, lease_ms: i64) {
        self.resume = Some((started, lease_ms));
    }

    /// The partitions owned as of the last [`Membership::settle`].
    pub fn owned(&self) -> u64 {
        self.owned
    }

    /// Brings ownership up to date before a claim: takes the locks if not held, and at most
    /// every [`CHECK_EVERY`] moves toward a fair share, writing the leases in `leases` of the
    /// partitions it gives up into the database before letting them go.
    pub async fn settle(&mut self, pool: &PgPool, leases: &Leases) -> Owned {
        let before = self.owned;
        match tokio::time::timeout(LOCK_TIMEOUT, self.try_settle(pool, leases)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.lost(pool, leases, &e.to_string()).await,
            Err(_) => self.lost(pool, leases, "timed out").await,
        }
        Owned {
            mask: self.owned,
            grew: self.owned & !before != 0,
        }
    }

    async fn try_settle(&mut self, pool: &PgPool, leases: &Leases) -> sqlx::Result<()> {
        let session = match &mut self.session {
            Some(session) => session,
            None => {
                let mut conn = PgConnection::connect_with(&self.options).await?;
                let pid = sqlx::query_scalar(&format!(
                    "SELECT pg_backend_pid() FROM pg_advisory_lock_shared($1, {SCHEMA_KEY})"
                ))
                .bind(PRESENT)
                .fetch_one(&mut conn)
                .await?;
                self.owned = 0;
                self.checked = None;
                self.session.insert(Session { conn, pid })
            }
        };
        if self.checked.is_some_and(|at| at.elapsed() < CHECK_EVERY) {
            // Claims from memory are safe only while the session holding the locks lives: one
            // round trip per claim finds a lost one at the next claim, not at the next check.
            if self.owned != 0 {
                session.conn.ping().await?;
            }
            return Ok(());
        }
        self.checked = Some(Instant::now());
        let census = census(&mut session.conn, session.pid).await?;
        if census.older && !self.older {
            warn!(
                "a node of an earlier hookrelay release delivers from this database: this node \
                 claims nothing until it stops (stop every older worker before starting new ones)"
            );
        }
        self.older = census.older;
        let start = (session.pid as u32).wrapping_mul(0x9e37_79b9) % COUNT;
        let Moves { take, give } = partitions::moves(self.owned, &census, start);
        if give != 0 {
            // Held until the leases are written: it tries again at the next check.
            if let Err(e) = write_leases(pool, leases, give).await {
                warn!(error = %e, "writing in-memory leases failed; keeping the partitions for now");
                return Ok(());
            }
            unlock(&mut session.conn, give).await?;
            self.owned &= !give;
        }
        if take != 0 {
            self.owned |= try_lock(&mut session.conn, take).await?;
        }
        if give != 0 || take != 0 {
            info!(
                partitions = self.owned.count_ones(),
                of = COUNT,
                other_nodes = census.others,
                "delivery partitions owned changed"
            );
        }
        if let Some((started, lease_ms)) = self.resume.take()
            && census.alone()
            && self.owned == ALL
        {
            resume_abandoned(pool, started, lease_ms).await;
        }
        Ok(())
    }

    /// Lets go of the locks (after writing the leases still held): the dispatcher has
    /// stopped. A later claim takes them again.
    pub async fn leave(&mut self, pool: &PgPool, leases: &Leases) {
        if let Err(e) = write_leases(pool, leases, ALL).await {
            warn!(error = %e, "writing in-memory leases failed");
        }
        if let Some(session) = self.session.take() {
            // Closing ends the session, and with it the locks, at once.
            let _ = tokio::time::timeout(LOCK_TIMEOUT, session.conn.close()).await;
        }
        self.owned = 0;
        self.checked = None;
    }

    /// The lock connection failed: its locks are (or will shortly be) gone. The node writes its
    /// leases, as when letting go; claims wait until the locks are taken again.
    async fn lost(&mut self, pool: &PgPool, leases: &Leases, error: &str) {
        warn!(
            error,
            "the delivery lock connection failed; claiming waits until it is back"
        );
        self.leave(pool, leases).await;
    }
}

/// Runs `leases::RESUME_ABANDONED`. A failure only leaves those deliveries to their leases.
async fn resume_abandoned(pool: &PgPool, started: i64, lease_ms: i64) {
    let now = crate::clock::now_ms();
    let resumed = sqlx::query(crate::store::leases::RESUME_ABANDONED)
        .bind(now)
        .bind(now.saturating_add(lease_ms))
        .bind(started)
        .execute(pool)
        .await;
    match resumed.map(|done| done.rows_affected()) {
        Ok(0) => {}
        Ok(n) => info!(
            deliveries = n,
            "a previous run left deliveries unfinished: they are due now"
        ),
        Err(e) => {
            warn!(error = %e, "making unfinished deliveries due failed; their leases will expire")
        }
    }
}

/// The partition numbers of `mask`, as their lock keys.
fn keys(mask: u64) -> Vec<i32> {
    (0..COUNT as i32)
        .filter(|p| mask & (1 << p) != 0)
        .map(|p| PARTITION + p)
        .collect()
}

/// Tries to lock the partitions of `mask`; those it got.
async fn try_lock(conn: &mut PgConnection, mask: u64) -> sqlx::Result<u64> {
    let got: Vec<i32> = sqlx::query_scalar(&format!(
        "SELECT k FROM unnest($1::int4[]) AS k WHERE pg_try_advisory_lock(k, {SCHEMA_KEY})"
    ))
    .bind(keys(mask))
    .fetch_all(conn)
    .await?;
    Ok(got.into_iter().fold(0, |m, k| m | 1 << (k - PARTITION)))
}

async fn unlock(conn: &mut PgConnection, mask: u64) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "SELECT pg_advisory_unlock(k, {SCHEMA_KEY}) FROM unnest($1::int4[]) AS k"
    ))
    .bind(keys(mask))
    .execute(conn)
    .await?;
    Ok(())
}

/// The other sessions' locks on [`PRESENT`], [`CLAIM`] and the partitions of this schema, with
/// whether each session ran a statement within [`CHECKING_IN`] (unknown, for a session of
/// another database role that may not see it, counts as checking in). `pg_locks` shows the two
/// halves of a key as unsigned `oid`s.
async fn census(conn: &mut PgConnection, me: i32) -> sqlx::Result<Census> {
    let rows: Vec<(i32, i64, bool)> = sqlx::query_as(&format!(
        "SELECT l.pid, l.classid::int8, \
         coalesce(a.state = 'active' OR a.state_change > now() - make_interval(secs => $5), true) \
         FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> $1 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND l.objsubid = 2 AND l.objid = oid({SCHEMA_KEY}::int8 & 4294967295) \
         AND (l.classid::int8 IN ($2, $3) OR l.classid::int8 BETWEEN $4 AND $4 + 63)"
    ))
    .bind(me)
    .bind(i64::from(PRESENT))
    .bind(i64::from(CLAIM))
    .bind(i64::from(PARTITION))
    .bind(CHECKING_IN.as_secs_f64())
    .fetch_all(conn)
    .await?;
    let mut census = Census::default();
    // (pid, checking in, partitions) of each other node.
    let mut nodes: Vec<(i32, bool, u64)> = Vec::new();
    for &(pid, key, active) in &rows {
        if key == i64::from(PRESENT) {
            nodes.push((pid, active, 0));
        } else if key == i64::from(CLAIM) {
            census.older = true;
        }
    }
    for &(pid, key, _) in &rows {
        if key >= i64::from(PARTITION) {
            let bit = 1u64 << (key - i64::from(PARTITION));
            census.held |= bit;
            if let Some(node) = nodes.iter_mut().find(|n| n.0 == pid) {
                node.2 |= bit;
            }
        }
    }
    census.others = nodes.len();
    census.active = (nodes.iter()).filter(|n| n.1).map(|n| n.2).collect();
    Ok(census)
}

/// Writes each held lease of a delivery in the partitions of `mask` into its row, if still due
/// (one recorded meanwhile, or set to retry later, keeps what its recorder wrote).
async fn write_leases(pool: &PgPool, leases: &Leases, mask: u64) -> sqlx::Result<()> {
    let now = crate::clock::now_ms();
    let mut held = leases.held(now);
    // In id order, as the recorder locks them (`bulk::record`).
    held.sort_unstable();
    let (ids, until): (Vec<String>, Vec<i64>) = held.into_iter().unzip();
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(&format!(
        "UPDATE deliveries SET next_attempt_at = l.until \
         FROM (SELECT id, until FROM unnest($1::text[], $2::int8[]) AS u(id, until) \
         WHERE ({BIT} & $4) <> 0) AS l \
         WHERE deliveries.id = l.id AND status = 'pending' AND next_attempt_at <= $3"
    ))
    .bind(&ids)
    .bind(&until)
    .bind(now)
    .bind(partitions::as_sql(mask))
    .execute(pool)
    .await?;
    Ok(())
}
