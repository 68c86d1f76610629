//! A fresh database per scenario run: an SQLite file in a temp dir, or a database created on a
//! PostgreSQL server with `psql` (and dropped again when the run ends).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use tempfile::TempDir;

/// Where hookrelay keeps its data in a run.
#[derive(Clone, Debug)]
pub enum Backend {
    /// `sqlite://<temp dir>/b.db`.
    Sqlite,
    /// A new database on this server (the URL names any database we may connect to).
    Postgres {
        /// The server, as given with `--database-url`.
        server_url: String,
    },
}

impl Backend {
    /// `sqlite` or `postgres`, as printed in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

/// A database that exists for one run, and the temp dir that holds its logs (and SQLite file).
pub struct Database {
    /// What hookrelay gets as `--database-url`.
    pub url: String,
    dir: TempDir,
    postgres: Option<Created>,
}

/// A PostgreSQL database this run created, dropped on drop.
struct Created {
    server_url: String,
    name: String,
}

impl Database {
    /// Creates a fresh, empty database on `backend`.
    pub fn create(backend: &Backend) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("hookrelay-bench-")
            .tempdir()
            .context("creating a temp dir")?;
        match backend {
            Backend::Sqlite => Ok(Self {
                url: format!("sqlite://{}", dir.path().join("b.db").display()),
                dir,
                postgres: None,
            }),
            Backend::Postgres { server_url } => {
                let name = unique_name();
                psql(server_url, &format!("CREATE DATABASE {name}"))?;
                Ok(Self {
                    url: with_database(server_url, &name),
                    dir,
                    postgres: Some(Created {
                        server_url: server_url.clone(),
                        name,
                    }),
                })
            }
        }
    }

    /// The run's temp dir (hookrelay's log goes here).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs an SQL script on the database with `psql` or `sqlite3` (hookrelay must not be
    /// running on an SQLite file: it holds the file's lock).
    pub fn run_script(&self, sql: &str) -> anyhow::Result<()> {
        let mut command = match &self.postgres {
            Some(_) => {
                let mut c = Command::new("psql");
                c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &self.url]);
                c
            }
            None => {
                let mut c = Command::new("sqlite3");
                c.args(["-bail"]).arg(self.dir.path().join("b.db"));
                c
            }
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("running psql or sqlite3 (is the client installed?)")?;
        child
            .stdin
            .take()
            .context("the client's stdin")?
            .write_all(sql.as_bytes())
            .context("writing the script")?;
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!(
                "the SQL script failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(created) = &self.postgres {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", created.name);
            if let Err(e) = psql(&created.server_url, &sql) {
                eprintln!("warning: could not drop database {}: {e:#}", created.name);
            }
        }
    }
}

/// `bench_<pid>_<nanoseconds>`: unique enough for concurrent and repeated runs.
fn unique_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("bench_{}_{nanos}", std::process::id())
}

/// Runs one SQL statement with `psql`.
fn psql(server_url: &str, sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            server_url,
            "-c",
            sql,
        ])
        .output()
        .context("running psql (is the PostgreSQL client installed?)")?;
    if !output.status.success() {
        bail!(
            "psql -c {sql:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// `server_url` with its database name replaced by `name` (query parameters kept).
pub fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.find('?') {
        Some(i) => server_url.split_at(i),
        None => (server_url, ""),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..path_start])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "b"),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "b"),
            "postgres://u:p@h/b?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "b"),
            "postgres://h:5432/b"
        );
    }
}
