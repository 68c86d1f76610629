//! `hookrelay serve` as a real process: with no admin key configured it generates one, prints
//! it once and stores only its hash; SIGTERM stops it cleanly; `--dev` says so loudly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `hookrelay serve` and every line it printed (stdout and stderr).
struct Served {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Served {
    fn start(database: &str, dev: bool) -> Served {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookrelay"));
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            database,
        ])
        .env_remove("HOOKRELAY_ADMIN_KEY")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        if dev {
            cmd.arg("--dev");
        }
        let mut child = cmd.spawn().expect("hookrelay starts");
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Served {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 30 s) for a line containing `needle`; answers it.
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no line with {needle:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn port(&mut self) -> u16 {
        let line = self.wait_for_line("hookrelay is listening");
        let address = line
            .split("address=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        address.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn terminate(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let exit = loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                break exit;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no exit 30 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(exit.success(), "exit status {exit}");
        self.wait_for_line("hookrelay stopped");
        self.seen
    }
}

async fn status_with(port: u16, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/v1/webhooks"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_generated_admin_key_is_printed_once_works_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("hookrelay.db").display());

    let mut first = Served::start(&database, false);
    let port = first.port();
    let announced = first.wait_for_line("Generated admin key");
    assert!(announced.contains("shown once"));
    let key_line = first.wait_for_line("hra_");
    let key = key_line.trim().to_owned();
    assert!(key.starts_with("hra_") && key.len() > 40, "{key}");
    assert_eq!(status_with(port, &key).await, 200);
    assert_eq!(status_with(port, "hra_wrong").await, 401);
    let output = first.terminate();

    let stored = std::fs::read(dir.path().join("hookrelay.db")).unwrap();
    assert!(
        !stored.windows(key.len()).any(|w| w == key.as_bytes()),
        "only the key's hash is stored"
    );
    drop(output);

    let mut second = Served::start(&database, false);
    let port = second.port();
    assert_eq!(
        status_with(port, &key).await,
        200,
        "the same key after a restart"
    );
    let output = second.terminate();
    assert!(
        !output.iter().any(|l| l.contains("Generated admin key")),
        "printed only at the first start"
    );
}

#[tokio::test]
async fn development_mode_is_announced_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("hookrelay.db").display());
    let mut served = Served::start(&database, true);
    served.port();
    served.wait_for_line("DEVELOPMENT MODE");
    served.terminate();
}
