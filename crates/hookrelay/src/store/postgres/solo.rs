//! Solo delivery on PostgreSQL. Writing a lease into every claimed delivery row (a new row
//! version and an entry in each of its indexes) was a third of the database's work under load,
//! yet a written lease only matters to another node that could claim the same rows. So a node
//! that is the only one delivering keeps its leases in memory, as SQLite does, and its claims
//! only read; as soon as a second node wants to deliver, the solo node writes the leases it
//! holds into the database, and from then on every node claims with written leases.
//!
//! Two session-level advisory locks, held on a connection of the node's own, say who may claim
//! how: every delivering node holds [`PRESENT`] (shared, for as long as it runs); a node claiming
//! with written leases holds [`CLAIM`] shared, the solo node holds it exclusively. Solo and
//! written-lease claims therefore never overlap: a newcomer cannot take [`CLAIM`] until the solo
//! node, seeing it present, has written its leases and let go. If the lock connection is lost
//! (the server then drops the locks), the node stops claiming until it has them again, and a
//! solo node writes its leases at once; a node that took over in between may still claim (and
//! send again) what it held, which is the one way this costs a duplicate that written leases
//! would not.

use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, PgPool};
use tracing::{info, warn};

use crate::store::leases::Leases;

/// Held shared by every delivering node. The first half of an advisory lock key ("hkr" and a
/// number); the second is a hash of the schema, so that hookrelay deployments in different
/// schemas of one database (advisory locks are per database) never see each other's.
const PRESENT: i32 = 0x686b_7201;
/// Held shared by nodes claiming with written leases, exclusively by the solo node.
const CLAIM: i32 = 0x686b_7202;

/// The second half of the lock keys, as SQL.
pub(super) const SCHEMA_KEY: &str = "hashtext(current_schema())";

/// How often a node looks at who else is present, at the start of a claim. A newcomer waits
/// about this long (plus the solo node's lease write) before it claims; longer only while every
/// one of the solo node's global slots is busy, as it then starts no claim until one is free.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Longest a lock statement may take before the connection counts as lost.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// How this node claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Not at all: a solo node has not let go yet, or the lock connection is down.
    Waiting,
    /// Writing a lease into each claimed row, alongside other nodes.
    Shared,
    /// Alone, with leases in memory.
    Solo,
}

/// This node's locks and the mode they allow.
pub struct Membership {
    options: PgConnectOptions,
    conn: Option<PgConnection>,
    mode: Mode,
    checked: Option<Instant>,
    /// When this run started and the lease, until the first claim: see
    /// [`Membership::resume_when_solo`].
    resume: Option<(i64, i64)>,
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
            conn: None,
            mode: Mode::Waiting,
            checked: None,
            resume: None,
        }
    }

    /// Makes the deliveries a previous run left leased in their rows due at once
    /// (`leases::RESUME_ABANDONED`) if this node's first claim finds it solo: holding
    /// [`CLAIM`] exclusively and alone in [`PRESENT`], no other node claims or takes
    /// deliveries, and a node gone from [`PRESENT`] has died (its session closed) or finished
    /// its attempts (it lets go after them). Its own publishes took only deliveries created
    /// since `started`, which the statement leaves alone. If the first claim finds another node
    /// instead, nothing is resumed: this node then writes leases into old rows itself, which a
    /// later resume could not tell from a dead run's, and the leases simply expire as before.
    /// The one case this can cost a duplicate is the one `solo.rs` already names: a node that
    /// lost its lock connection but still sends what it took.
    pub fn resume_when_solo(&mut self, started: i64, lease_ms: i64) {
        self.resume = Some((started, lease_ms));
    }

    /// The mode as of the last [`Membership::settle`].
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Brings the mode up to date before a claim: takes the locks if not held, and at most
    /// every [`CHECK_EVERY`] becomes solo when alone or stops being solo when not, writing the
    /// leases in `leases` into the database before letting go.
    pub async fn settle(&mut self, pool: &PgPool, leases: &Leases) -> Mode {
        match tokio::time::timeout(LOCK_TIMEOUT, self.try_settle(pool, leases)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.lost(pool, leases, &e.to_string()).await,
            Err(_) => self.lost(pool, leases, "timed out").await,
        }
        self.mode
    }

    async fn try_settle(&mut self, pool: &PgPool, leases: &Leases) -> sqlx::Result<()> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => {
                let mut conn = PgConnection::connect_with(&self.options).await?;
                sqlx::query(&format!("SELECT pg_advisory_lock_shared($1, {SCHEMA_KEY})"))
                    .bind(PRESENT)
                    .execute(&mut conn)
                    .await?;
                self.checked = None;
                self.conn.insert(conn)
            }
        };
        if self.mode == Mode::Waiting && try_lock(conn, "pg_try_advisory_lock_shared").await? {
            self.mode = Mode::Shared;
        }
        if self.checked.is_some_and(|at| at.elapsed() < CHECK_EVERY) {
            // A solo claim is safe only while the session holding the locks lives: one round
            // trip per claim finds a lost one at the next claim, not at the next check.
            if self.mode == Mode::Solo {
                conn.ping().await?;
            }
            self.forgo_resume_if_shared();
            return Ok(());
        }
        self.checked = Some(Instant::now());
        let alone = present(conn).await? == 1;
        match self.mode {
            Mode::Shared if alone => {
                unlock(conn, "pg_advisory_unlock_shared").await?;
                self.mode = if try_lock(conn, "pg_try_advisory_lock").await? {
                    info!("the only delivering node: leases are kept in memory");
                    Mode::Solo
                } else if try_lock(conn, "pg_try_advisory_lock_shared").await? {
                    Mode::Shared
                } else {
                    Mode::Waiting
                };
            }
            Mode::Solo if !alone => {
                // Held until the leases are written: letting go first would let the newcomer
                // claim what this node holds. It tries again at the next check.
                if let Err(e) = write_leases(pool, leases).await {
                    warn!(error = %e, "writing in-memory leases failed; staying solo for now");
                    return Ok(());
                }
                unlock(conn, "pg_advisory_unlock").await?;
                info!("another node delivers too: leases are written to the database");
                self.mode = if try_lock(conn, "pg_try_advisory_lock_shared").await? {
                    Mode::Shared
                } else {
                    Mode::Waiting
                };
            }
            _ => {}
        }
        if self.mode == Mode::Solo
            && let Some((started, lease_ms)) = self.resume.take()
        {
            resume_abandoned(pool, started, lease_ms).await;
        }
        self.forgo_resume_if_shared();
        Ok(())
    }

    /// A node claiming with written leases never resumes (see [`Membership::resume_when_solo`]).
    fn forgo_resume_if_shared(&mut self) {
        if self.mode == Mode::Shared {
            self.resume = None;
        }
    }

    /// Lets go of the locks (after writing the leases still held, if solo): the dispatcher
    /// has stopped. A later claim takes them again.
    pub async fn leave(&mut self, pool: &PgPool, leases: &Leases) {
        if self.mode == Mode::Solo
            && let Err(e) = write_leases(pool, leases).await
        {
            warn!(error = %e, "writing in-memory leases failed");
        }
        if let Some(conn) = self.conn.take() {
            // Closing ends the session, and with it the locks, at once.
            let _ = tokio::time::timeout(LOCK_TIMEOUT, conn.close()).await;
        }
        self.mode = Mode::Waiting;
        self.checked = None;
    }

    /// The lock connection failed: its locks are (or will shortly be) gone. A solo node writes
    /// its leases, as when letting go; claims wait until the locks are taken again.
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

async fn try_lock(conn: &mut PgConnection, function: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(&format!("SELECT {function}($1, {SCHEMA_KEY})"))
        .bind(CLAIM)
        .fetch_one(conn)
        .await
}

async fn unlock(conn: &mut PgConnection, function: &str) -> sqlx::Result<()> {
    sqlx::query(&format!("SELECT {function}($1, {SCHEMA_KEY})"))
        .bind(CLAIM)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many sessions hold [`PRESENT`] for this schema. `pg_locks` shows the two halves of a
/// key as unsigned `oid`s.
async fn present(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND objsubid = 2 AND classid = oid($1::int8 & 4294967295) \
         AND objid = oid({SCHEMA_KEY}::int8 & 4294967295)"
    ))
    .bind(i64::from(PRESENT))
    .fetch_one(conn)
    .await
}

/// Writes each held lease into its delivery, if still due (one recorded meanwhile, or set to
/// retry later, keeps what its recorder wrote).
async fn write_leases(pool: &PgPool, leases: &Leases) -> sqlx::Result<()> {
    let now = crate::clock::now_ms();
    let (ids, until): (Vec<String>, Vec<i64>) = leases.held(now).into_iter().unzip();
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE deliveries SET next_attempt_at = l.until \
         FROM unnest($1::text[], $2::int8[]) AS l(id, until) \
         WHERE deliveries.id = l.id AND status = 'pending' AND next_attempt_at <= $3",
    )
    .bind(&ids)
    .bind(&until)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}
