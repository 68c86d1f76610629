//! What the store's calls fail with, and why a database cannot serve a node.

/// What the store can fail with. Each backend maps its own constraint errors onto these, so
/// callers never see a SQLSTATE.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object does not exist (or belongs to another tenant).
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write.
    #[error("already exists")]
    Conflict,
    /// The database cannot be reached or used right now (refused or lost connections, no
    /// pooled connection within the acquire timeout, the server shutting down): trying again
    /// later may work.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The database failed; a bug or an outage, never the caller's input.
    #[error("database error")]
    Backend(#[source] sqlx::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Error::Unavailable(e),
            sqlx::Error::Database(db) if db.code().is_some_and(|c| unavailable(&c)) => {
                Error::Unavailable(e)
            }
            sqlx::Error::Database(db) => match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => Error::Conflict,
                sqlx::error::ErrorKind::ForeignKeyViolation => Error::NotFound,
                _ => Error::Backend(e),
            },
            _ => Error::Backend(e),
        }
    }
}

/// Whether a PostgreSQL SQLSTATE says the server cannot serve now rather than that the query
/// is wrong: a connection exception (class 08), the session ended by an administrator or a
/// shutdown (`57P01`, `57P02`, `57P03`, as `pg_terminate_backend` and restarts do), or too many
/// connections (`53300`). SQLite's codes are numbers and never match.
fn unavailable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || matches!(sqlstate, "57P01" | "57P02" | "57P03" | "53300")
}

/// Store results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the database cannot serve this node (`/readyz`).
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    /// The readiness query failed: the database is down, unreachable or lost its tables.
    #[error("the database cannot be queried")]
    Unreachable(#[source] Error),
    /// The applied migrations differ from this build's: it must be migrated, or it was
    /// migrated by a newer hookrelay.
    #[error("migrations are not current: {0}")]
    Migrations(String),
}
