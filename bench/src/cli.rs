//! Command-line flags of `hookrelay-bench`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Load generator for hookrelay: starts it as a child process, publishes events, receives the
/// deliveries in-process, and compares hookrelay's delivery rate with a bare HTTP client's.
#[derive(Debug, Parser)]
#[command(name = "hookrelay-bench", version, about)]
pub struct Args {
    /// Scenario to run.
    #[arg(long, value_enum, default_value_t = Which::All)]
    pub scenario: Which,
    /// `full` runs the sizes of the issue; `small` divides them for a quick check.
    #[arg(long, value_enum, default_value_t = Scale::Full)]
    pub scale: Scale,
    /// A PostgreSQL server (`postgres://user@host:5432/db`). Each run creates a fresh database
    /// on it with `psql` and drops it afterwards. Without it, runs use SQLite in a temp dir.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Backends to run on [default: `postgres` with --database-url, else `sqlite`].
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
    /// Also print one JSON line per scenario run (and per median) on stdout; tables go to stderr.
    #[arg(long)]
    pub json: bool,
    /// Repeat each scenario this many times and print the medians too.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Smoke mode: exit non-zero if any delivery is missing or any publish failed. No timing
    /// is ever asserted.
    #[arg(long)]
    pub check: bool,
    /// How to publish: `auto` uses `POST /v1/events/batch` (100 events per request) for the
    /// bulk scenarios when hookrelay has it, `single` never does.
    #[arg(long, value_enum, default_value_t = PublishChoice::Auto)]
    pub publish: PublishChoice,
    /// Use this hookrelay binary instead of building and locating the release one.
    #[arg(long, value_name = "PATH")]
    pub hookrelay_bin: Option<PathBuf>,
}

/// Which scenario(s) to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// Every scenario, in order.
    All,
    /// 100 webhooks, 100,000 events, each to one webhook.
    Throughput,
    /// `throughput` with every endpoint HTTPS (a CA the bench creates).
    Tls,
    /// 2,000 webhooks on 2,000 HTTPS host names, 40,000 events spread evenly.
    Hosts,
    /// 1,000 webhooks on one event type, 1,000 events: 1,000,000 deliveries.
    Fanout,
    /// A steady 500 events/s for 30 s.
    Latency,
    /// 20 healthy webhooks beside 200 that hang until the timeout.
    Isolation,
    /// 1,000,000 deliveries queued with delivery off, then drained.
    Backlog,
    /// Render times of the dashboard's main pages with 1,000,000 deliveries in the log.
    Dashboard,
    /// 200,000 deliveries drained by 1, 2 and 3 worker nodes (PostgreSQL only).
    Nodes,
}

/// Problem sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scale {
    /// The sizes of the issue.
    Full,
    /// Divided so that every scenario on SQLite finishes in under a minute.
    Small,
}

impl Scale {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scale::Full => "full",
            Scale::Small => "small",
        }
    }

    /// `full` at full scale, else `small`.
    pub fn pick<T>(self, full: T, small: T) -> T {
        match self {
            Scale::Full => full,
            Scale::Small => small,
        }
    }
}

/// Backends selectable with `--backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// SQLite in a fresh temp dir.
    Sqlite,
    /// A fresh database on the `--database-url` server.
    Postgres,
    /// Both, SQLite first.
    All,
}

/// Publishing mode selectable with `--publish`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PublishChoice {
    /// Batches of 100 where `POST /v1/events/batch` exists, else one event per request.
    Auto,
    /// One event per request.
    Single,
    /// Batches of 100; fails if hookrelay has no batch endpoint.
    Batch,
}
