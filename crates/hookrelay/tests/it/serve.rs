//! `hookrelay serve` as a real process: with no admin key configured it generates one, prints
//! it once and stores only its hash; SIGTERM stops it cleanly; `--dev` says so loudly; a second
//! process on one SQLite file is refused until the first has exited, even by `kill -9`.
//! [`Served`] and [`Api`] run and call the binary for other files' tests too.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `hookrelay serve` and every line it printed (stdout and stderr).
pub(crate) struct Served {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Served {
    fn start(database: &str, dev: bool) -> Served {
        Self::start_with(database, dev, |_| {})
    }

    /// Starts it with `adjust` adding flags or environment (`RUST_LOG` is `info` otherwise).
    pub(crate) fn start_with(
        database: &str,
        dev: bool,
        adjust: impl FnOnce(&mut Command),
    ) -> Served {
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
        adjust(&mut cmd);
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
    pub(crate) fn wait_for_line(&mut self, needle: &str) -> String {
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

    /// The address it listens on, from its start line (text or JSON).
    pub(crate) fn address(&mut self) -> String {
        let line = self.wait_for_line("hookrelay is listening");
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) {
            return json["address"].as_str().expect("address").to_owned();
        }
        let rest = line.split("address=").nth(1).expect("address=");
        rest.split_whitespace().next().unwrap().to_owned()
    }

    fn port(&mut self) -> u16 {
        self.address().rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Kills it with SIGKILL, which it cannot handle, and waits until it is gone.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) fn terminate(mut self) -> Vec<String> {
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

/// `hookrelay serve` run to its end: what a refused start prints.
pub(crate) fn refused_serve(args: &[&str]) -> String {
    refused_serve_with(args, &[])
}

/// [`refused_serve`] with environment variables set.
pub(crate) fn refused_serve_with(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .output()
        .expect("hookrelay runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "it started: {printed}");
    printed
}

/// Calls a [`Served`] node's API with a key, asserting success.
pub(crate) struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

impl Api {
    pub(crate) fn new(address: &str) -> Api {
        Api {
            base: format!("http://{address}"),
            client: reqwest::Client::new(),
        }
    }

    /// The status and JSON body (`Null` when there is none).
    pub(crate) async fn call(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_default())
    }

    /// POSTs `body`; answers the response, which must be a success.
    pub(crate) async fn post(
        &self,
        key: &str,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let (status, out) = self
            .call(key, reqwest::Method::POST, path, Some(body))
            .await;
        assert!((200..300).contains(&status), "POST {path}: {status} {out}");
        out
    }

    /// GETs `path`; answers the response, which must be a success.
    pub(crate) async fn get(&self, key: &str, path: &str) -> serde_json::Value {
        let (status, out) = self.call(key, reqwest::Method::GET, path, None).await;
        assert!((200..300).contains(&status), "GET {path}: {status} {out}");
        out
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

#[tokio::test]
async fn worker_threads_sizes_the_runtime_and_zero_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("hookrelay.db").display());
    let mut served = Served::start_with(&database, false, |cmd| {
        cmd.env("HOOKRELAY_WORKER_THREADS", "3");
    });
    served.port();
    // The runtime's own count of its workers, as it started.
    let line = served.wait_for_line("async runtime started");
    assert!(line.contains("worker_threads=3"), "{line}");
    served.terminate();

    let printed = refused_serve_with(
        &["--database-url", &database],
        &[("HOOKRELAY_WORKER_THREADS", "0")],
    );
    assert!(
        printed.contains("worker_threads: must be at least 1"),
        "{printed}"
    );
}

#[tokio::test]
async fn a_second_serve_on_an_sqlite_file_is_refused_until_the_first_has_exited() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("hookrelay.db").display());
    let refused = "another hookrelay process is using";

    let mut first = Served::start(&database, false);
    first.port();
    let printed = refused_serve(&["--database-url", &database]);
    assert!(printed.contains(refused), "{printed}");
    first.terminate();

    let mut second = Served::start(&database, false);
    second.port();
    // The lock is the operating system's: it goes with the process, however that ends.
    second.kill();
    let mut third = Served::start(&database, false);
    third.port();
    let printed = refused_serve(&["--database-url", &database]);
    assert!(printed.contains(refused), "{printed}");
    third.terminate();
}
