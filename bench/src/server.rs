//! The hookrelay child process: `hookrelay serve --dev` on a free loopback port, its log in the
//! run's temp dir, stopped with SIGTERM (SIGKILL if it lingers).

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::procfs::{self, ProcStats};

/// The admin key every bench server runs with.
pub const ADMIN_KEY: &str = "hra_bench_admin_key_not_secret";

/// How long the server may take to answer `/healthz` after starting.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// What to start.
pub struct Launch<'a> {
    /// The hookrelay binary.
    pub bin: &'a Path,
    /// `--database-url`.
    pub database_url: &'a str,
    /// `HOOKRELAY_DELIVER`: false runs the API only, so deliveries queue up.
    pub deliver: bool,
    /// `HOOKRELAY_ROLE` (`api`, `worker`); none: the default, `all`.
    pub role: Option<&'a str>,
    /// File that receives the server's stdout and stderr.
    pub log: &'a Path,
    /// `HOOKRELAY_EXTRA_ROOT_CERTIFICATES`: a PEM file of CAs HTTPS deliveries trust.
    pub extra_root_certificates: Option<&'a Path>,
}

/// A running hookrelay.
pub struct Hookrelay {
    child: Option<Child>,
    /// The child's process id.
    pub pid: u32,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// When the process was spawned.
    pub spawned: Instant,
    log: PathBuf,
}

impl Hookrelay {
    /// Spawns the server and waits until `/healthz` answers 200.
    ///
    /// The child inherits the bench's environment, so `HOOKRELAY_*` settings (and `RUST_LOG`) set
    /// by the caller apply; the bench itself sets only the admin key, `deliver`, the role, a 1 s
    /// shutdown grace unless `HOOKRELAY_SHUTDOWN_GRACE_SECONDS` is set, for `tls` and `hosts` the
    /// CA it must trust, and for `hosts` the names it resolves to the receiver.
    pub async fn start(launch: &Launch<'_>) -> anyhow::Result<Self> {
        Self::start_with(launch, &[]).await
    }

    /// [`Hookrelay::start`] with more environment variables (`hosts` sets `HOOKRELAY_RESOLVE`).
    pub async fn start_with(launch: &Launch<'_>, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let log = File::create(launch.log)
            .with_context(|| format!("creating {}", launch.log.display()))?;
        let mut command = Command::new(launch.bin);
        command
            .args(["serve", "--dev", "--listen", &listen, "--database-url"])
            .arg(launch.database_url)
            .env("HOOKRELAY_ADMIN_KEY", ADMIN_KEY)
            .env(
                "HOOKRELAY_DELIVER",
                if launch.deliver { "true" } else { "false" },
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("duplicating the log file")?)
            .stderr(log);
        if let Some(role) = launch.role {
            command.env("HOOKRELAY_ROLE", role);
        }
        if let Some(pem) = launch.extra_root_certificates {
            command.env("HOOKRELAY_EXTRA_ROOT_CERTIFICATES", pem);
        }
        command.envs(env.iter().copied());
        if std::env::var_os("HOOKRELAY_SHUTDOWN_GRACE_SECONDS").is_none() {
            command.env("HOOKRELAY_SHUTDOWN_GRACE_SECONDS", "1");
        }
        let spawned = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", launch.bin.display()))?;
        let mut server = Self {
            pid: child.id(),
            child: Some(child),
            base_url: format!("http://{listen}"),
            spawned,
            log: launch.log.to_path_buf(),
        };
        server.wait_healthy().await?;
        Ok(server)
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}/healthz", self.base_url);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "hookrelay exited during startup ({status}); its log:\n{}",
                    self.log_tail(30)
                );
            }
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "hookrelay did not answer {url} within {START_TIMEOUT:?}; its log:\n{}",
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Memory and CPU of the server so far.
    pub fn stats(&self) -> anyhow::Result<ProcStats> {
        procfs::read(self.pid)
    }

    /// Checks that the server is still running (it must not crash mid-run).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            bail!(
                "hookrelay exited unexpectedly ({status}); its log:\n{}",
                self.log_tail(30)
            );
        }
        Ok(())
    }

    /// Reads the final figures, then stops the server: SIGTERM, and SIGKILL after 10 s.
    pub async fn stop(mut self) -> anyhow::Result<ProcStats> {
        self.check_alive()?;
        let stats = self.stats()?;
        let Some(mut child) = self.child.take() else {
            return Ok(stats);
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if child.try_wait()?.is_some() {
                return Ok(stats);
            }
            if Instant::now() > deadline {
                eprintln!("warning: hookrelay ignored SIGTERM for {STOP_TIMEOUT:?}; killing it");
                let _ = child.kill();
                let _ = child.wait();
                return Ok(stats);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The last `lines` lines of the server's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Hookrelay {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
