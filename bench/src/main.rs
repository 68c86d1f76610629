//! `hookrelay-bench`: a load generator for hookrelay. It starts the hookrelay release binary as a
//! child process on a fresh database, creates webhooks pointing at an in-process receiver,
//! publishes events over HTTP, waits for every delivery, and compares hookrelay's delivery rate
//! with what a bare HTTP client achieves against the same receiver (the ceiling). See
//! `bench/README.md`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use clap::Parser;

mod api;
mod binary;
mod ceiling;
mod cli;
mod database;
mod procfs;
mod publisher;
mod receiver;
mod report;
mod scenarios;
mod server;
mod stats;
mod tls;

use cli::{Args, BackendChoice, Which};
use database::Backend;
use receiver::Receiver;
use report::{Report, print_table};
use scenarios::{Ctx, Scenario};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let backends = backends(&args)?;
    let scenarios: Vec<Scenario> = match args.scenario {
        Which::All => Scenario::ALL.to_vec(),
        Which::Throughput => vec![Scenario::Throughput],
        Which::Tls => vec![Scenario::Tls],
        Which::Hosts => vec![Scenario::Hosts],
        Which::Fanout => vec![Scenario::Fanout],
        Which::Latency => vec![Scenario::Latency],
        Which::Isolation => vec![Scenario::Isolation],
        Which::Backlog => vec![Scenario::Backlog],
        Which::Dashboard => vec![Scenario::Dashboard],
        Which::Nodes => vec![Scenario::Nodes],
    };
    let bin = binary::locate(args.hookrelay_bin.as_deref())?;
    let receiver = Arc::new(Receiver::start().await?);
    eprintln!(
        "hookrelay-bench: server {}; receiver {} (hanging: {}, TLS: {}); scale {}; {} CPUs",
        bin.display(),
        receiver.addr,
        receiver.hanging_addr,
        receiver.tls_addr,
        args.scale.name(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );

    let mut failures = 0usize;
    let mut incomplete = 0usize;
    for scenario in scenarios {
        for backend in &backends {
            if !scenario.runs_on(backend) {
                eprintln!("-- {} does not run on {}", scenario.name(), backend.name());
                continue;
            }
            let ctx = Ctx {
                bin: bin.clone(),
                backend: backend.clone(),
                scale: args.scale,
                receiver: receiver.clone(),
                publish: args.publish,
            };
            let mut runs = Vec::new();
            for run in 1..=args.runs {
                eprintln!(
                    "-- {} on {} (run {run}/{})",
                    scenario.name(),
                    backend.name(),
                    args.runs
                );
                match scenario.run(&ctx, run).await {
                    Ok(report) => {
                        if report.number("missing").unwrap_or(0.0) > 0.0
                            || report.number("publish_errors").unwrap_or(0.0) > 0.0
                        {
                            incomplete += 1;
                        }
                        if args.json {
                            println!("{}", report.json_line());
                        }
                        runs.push(report);
                    }
                    Err(e) => {
                        eprintln!("error: {} on {}: {e:#}", scenario.name(), backend.name());
                        failures += 1;
                    }
                }
            }
            let median = if runs.len() > 1 {
                Report::median_of(&runs)
            } else {
                None
            };
            if args.json
                && let Some(m) = &median
            {
                println!("{}", m.json_line());
            }
            if args.json {
                print_table(&mut std::io::stderr(), &runs, median.as_ref());
            } else {
                print_table(&mut std::io::stdout(), &runs, median.as_ref());
            }
            let _ = std::io::stdout().flush();
        }
    }
    if failures > 0 {
        eprintln!("\n{failures} scenario run(s) failed");
        return Ok(ExitCode::FAILURE);
    }
    if incomplete > 0 {
        eprintln!("\n{incomplete} scenario run(s) lost deliveries or publishes");
        if args.check {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The backends to run on, from `--backend` and `--database-url`.
fn backends(args: &Args) -> anyhow::Result<Vec<Backend>> {
    let postgres = match &args.database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Some(Backend::Postgres {
                server_url: url.clone(),
            })
        }
        Some(url) => bail!(
            "--database-url {url}: only postgres:// URLs are taken (SQLite runs use a temp dir)"
        ),
        None => None,
    };
    let choice = args.backend.unwrap_or(if postgres.is_some() {
        BackendChoice::Postgres
    } else {
        BackendChoice::Sqlite
    });
    let needs_url = || anyhow::anyhow!("--backend postgres needs --database-url postgres://...");
    Ok(match choice {
        BackendChoice::Sqlite => vec![Backend::Sqlite],
        BackendChoice::Postgres => vec![postgres.ok_or_else(needs_url)?],
        BackendChoice::All => vec![Backend::Sqlite, postgres.ok_or_else(needs_url)?],
    })
}
