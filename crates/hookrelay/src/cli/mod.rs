//! The command line: `serve`, `migrate`, `listen`, `verify`, `openapi`. Each subcommand lives in its own
//! file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};

mod listen;
mod migrate;
pub mod openapi;
mod serve;
mod verify;

/// hookrelay: self-hosted webhook delivery.
#[derive(Debug, Parser)]
#[command(name = "hookrelay", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API and the delivery workers (or one of them: --role).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(ConfigArgs),
    /// Receive webhooks locally: verify and print each delivery.
    Listen(listen::ListenArgs),
    /// Check one captured delivery's signature (exit 0 valid, 1 invalid, 2 usage error).
    Verify(verify::VerifyArgs),
    /// Print the OpenAPI document (as served at /openapi.json) and exit.
    Openapi,
}

/// Flags shared by the commands that read the configuration.
#[derive(Debug, Args)]
struct ConfigArgs {
    /// Configuration file (see hookrelay.example.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// `sqlite://path.db` or `postgres://…` [default: sqlite://hookrelay.db]
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Development mode: allow http:// URLs and private/loopback targets.
    #[arg(long)]
    dev: bool,
}

/// `serve`'s flags: the shared ones and what only a server has.
#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// What this process does: the API and delivery (`all`), or, with PostgreSQL, one of them
    /// [default: all]
    #[arg(long, value_name = "ROLE", value_parser = ["all", "api", "worker"])]
    role: Option<String>,
    /// `text` or `json` [default: text]
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    log_format: Option<String>,
}

impl ConfigArgs {
    fn load(&self) -> anyhow::Result<Config> {
        self.load_with(Overrides::default())
    }

    fn load_with(&self, serve: Overrides) -> anyhow::Result<Config> {
        Config::load(
            self.config.as_deref(),
            &Overrides {
                listen: self.listen.clone(),
                database_url: self.database_url.clone(),
                dev: self.dev,
                ..serve
            },
        )
    }
}

impl ServeArgs {
    fn load(&self) -> anyhow::Result<Config> {
        self.config.load_with(Overrides {
            role: self.role.clone(),
            log_format: self.log_format.clone(),
            ..Overrides::default()
        })
    }
}

/// Runs a parsed command line to completion.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        // The configuration is read before the runtime starts: it says how many threads.
        Command::Serve(args) => with_config(args.load(), serve::run),
        Command::Migrate(args) => with_config(args.load(), migrate::run),
        // `listen` reads the local time zone before any runtime thread exists, then calls
        // `block_on` itself; `verify` is synchronous and has its own exit codes.
        Command::Listen(args) => listen::run(args),
        Command::Verify(args) => verify::run(&args),
        Command::Openapi => match openapi::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Runs `command` with `config` on a runtime of `worker_threads` threads; an error (the
/// configuration's too) is printed and exits 1.
fn with_config<F: Future<Output = anyhow::Result<()>>>(
    config: anyhow::Result<Config>,
    command: impl FnOnce(Config) -> F,
) -> ExitCode {
    match config {
        Ok(config) => block_on(config.worker_threads(), command(config)),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `future` on a fresh multi-threaded runtime of `threads` worker threads; an error is
/// printed and exits 1.
fn block_on(threads: usize, future: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(future) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
