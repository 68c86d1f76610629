//! The `hookrelay` binary: parses flags and hands over to `cli::run`.
#![forbid(unsafe_code)]

use clap::Parser;

// The hot path allocates per request (headers, bodies, futures) on every worker thread at once;
// glibc's malloc took a tenth of the delivery threads' time in profiles, mimalloc's thread-local
// pages take most of that off.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    hookrelay::cli::run(hookrelay::cli::Cli::parse())
}
