//! The `hookrelay` binary: parses flags and hands over to `cli::run`.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    hookrelay::cli::run(hookrelay::cli::Cli::parse())
}
