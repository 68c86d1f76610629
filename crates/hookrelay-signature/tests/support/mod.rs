//! Helpers for the tests that run foreign code (Python, Node) as subprocesses: finding the
//! interpreters, exchanging JSON over stdin/stdout, and a small seeded random generator.

#![allow(dead_code, reason = "each test file uses a subset of these helpers")]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// Setting this variable to `1` skips the foreign-language tests instead of failing them when
/// an interpreter or a library is missing.
pub const SKIP_VAR: &str = "HOOKRELAY_SKIP_FOREIGN";

/// The script that installs the official libraries.
pub const INSTALL_SCRIPT: &str = "scripts/install-test-deps.sh";

/// Whether missing interpreters or libraries should skip tests rather than fail them.
pub fn skipping() -> bool {
    std::env::var(SKIP_VAR).is_ok_and(|v| v == "1")
}

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `crates/hookrelay-signature/tests/foreign`.
pub fn foreign_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/foreign")
}

/// A runnable interpreter, or `None` (with a note on stderr) when it is missing and
/// `HOOKRELAY_SKIP_FOREIGN=1`; panics when it is missing otherwise.
pub fn interpreter(program: &str) -> Option<&str> {
    let runs = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if runs {
        return Some(program);
    }
    if skipping() {
        eprintln!("skipped: `{program}` is not installed ({SKIP_VAR}=1)");
        return None;
    }
    panic!(
        "`{program}` is not installed or does not run, and this test runs code with it. Install \
         it (`.ci/run` does), or set {SKIP_VAR}=1 to skip the tests that need it."
    );
}

/// Whether a library `what` installed by [`INSTALL_SCRIPT`] is present at `path`: `false`
/// (with a note on stderr) when it is not and `HOOKRELAY_SKIP_FOREIGN=1`; panics otherwise.
pub fn installed(path: &Path, what: &str) -> bool {
    if path.exists() {
        return true;
    }
    if skipping() {
        eprintln!("skipped: {what} is not installed ({SKIP_VAR}=1)");
        return false;
    }
    panic!(
        "{what} is not installed (no {}): run `{INSTALL_SCRIPT}` from the repository root, or set \
         {SKIP_VAR}=1 to skip the tests that need it.",
        path.display()
    );
}

/// Runs `program args...` with `input` as JSON on stdin and returns its stdout parsed as JSON;
/// panics with its stderr if it fails.
pub fn run_json(program: &str, args: &[&Path], input: &Value) -> Value {
    let mut child = Command::new(program)
        .args(args)
        // Leave no __pycache__ beside the Python snippets.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let input = serde_json::to_vec(input).expect("JSON input serializes");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(&input)
        .unwrap_or_else(|e| panic!("cannot write to {program}'s stdin: {e}"));
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{program} did not finish: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{stderr}",
        output.status
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{program} printed no JSON ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A tiny deterministic generator (SplitMix64) for random test inputs; the seed comes from
/// `HOOKRELAY_TEST_SEED` or the clock and is printed, so a failure can be replayed.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `HOOKRELAY_TEST_SEED` if set, else from the clock.
    pub fn from_env() -> Rng {
        let seed = std::env::var("HOOKRELAY_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64)
            });
        eprintln!("random inputs from HOOKRELAY_TEST_SEED={seed}");
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    /// A random string of `len` characters drawn from `alphabet`.
    pub fn string(&mut self, alphabet: &str, len: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        (0..len).map(|_| chars[self.below(chars.len())]).collect()
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Letters and digits, for ids.
pub const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Characters for random secrets and bodies: ASCII (quotes, backslash, `=`, `,`, space) and
/// some multi-byte UTF-8.
pub const TEXT: &str = "abcXYZ019 _-.,=:;\"'\\/{}[]\u{e9}\u{fc}\u{4e2d}\u{1f980}\u{2028}\t\n";
