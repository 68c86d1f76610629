//! Finding (and building) the hookrelay release binary the bench starts.
//!
//! The binary is `<target dir>/release/hookrelay`, where the target dir is the one the bench
//! itself was built into (`current_exe()`'s directory is `<target dir>/release`). Under
//! `cargo run` (the `CARGO` variable is set) it is always rebuilt first, which is a quick no-op
//! when it is fresh and never benchmarks a stale server after a change to hookrelay; otherwise it
//! is built only when missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The workspace manifest, fixed at compile time.
const WORKSPACE_MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");

/// Returns the hookrelay binary to benchmark, building it if needed.
pub fn locate(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        if !path.is_file() {
            bail!("--hookrelay-bin {}: no such file", path.display());
        }
        return Ok(path.to_path_buf());
    }
    let exe = std::env::current_exe().context("finding the bench's own executable")?;
    let exe_dir = exe
        .parent()
        .context("the bench's executable has no parent directory")?;
    // `<target>/release/hookrelay-bench` or `<target>/debug/hookrelay-bench`: the server is
    // always the release build, in the same target dir.
    let target_dir = match exe_dir.file_name().and_then(|n| n.to_str()) {
        Some("release" | "debug") => exe_dir.parent().unwrap_or(exe_dir),
        _ => exe_dir,
    };
    let binary = target_dir.join("release").join("hookrelay");
    let cargo = std::env::var_os("CARGO");
    if cargo.is_some() || !binary.is_file() {
        build(cargo.as_deref(), target_dir)?;
    }
    if !binary.is_file() {
        bail!(
            "built hookrelay, but {} does not exist; pass --hookrelay-bin",
            binary.display()
        );
    }
    Ok(binary)
}

/// `cargo build --release -p hookrelay --bin hookrelay` into `target_dir`.
fn build(cargo: Option<&std::ffi::OsStr>, target_dir: &Path) -> anyhow::Result<()> {
    let cargo = cargo.unwrap_or_else(|| "cargo".as_ref());
    eprintln!(
        "building hookrelay (release) into {} ...",
        target_dir.display()
    );
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "hookrelay",
            "--bin",
            "hookrelay",
        ])
        .arg("--manifest-path")
        .arg(WORKSPACE_MANIFEST)
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .context("running cargo build for hookrelay")?;
    if !status.success() {
        bail!("cargo build --release -p hookrelay failed ({status})");
    }
    Ok(())
}
