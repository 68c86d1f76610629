//! `hookrelay serve`: the API and the delivery workers in one process (or, with PostgreSQL, one
//! of them: `role`), until SIGTERM or Ctrl-C.

use tracing::{info, warn};

use crate::app::App;
use crate::config::Config;
use crate::telemetry;

pub async fn run(config: Config) -> anyhow::Result<()> {
    telemetry::init(config.log_format);
    info!(
        worker_threads = tokio::runtime::Handle::current().metrics().num_workers(),
        "async runtime started"
    );
    if !config.deliver {
        warn!(
            "deliver = false is deprecated: with PostgreSQL set role = \"api\" instead; on SQLite it still runs the one process without delivering"
        );
    }
    if config.dev {
        warn!(
            "DEVELOPMENT MODE: http:// webhook URLs and deliveries to loopback and private addresses are allowed. Never run production like this."
        );
        eprintln!(
            "\n  !!  hookrelay is in DEVELOPMENT MODE: plain-HTTP URLs and private addresses are allowed  !!\n"
        );
    }
    let app = App::build(config).await?;
    if let Some(key) = app.generated_admin_key() {
        eprintln!(
            "\n  Generated admin key (shown once; only its hash is stored):\n\n    {key}\n\n  \
             Keep it safe, or set HOOKRELAY_ADMIN_KEY to use your own.\n"
        );
    }
    // Registered before serving starts: a SIGTERM that arrives early must not kill the process.
    let signals = Signals::register()?;
    let token = app.shutdown_token();
    tokio::spawn(async move {
        signals.wait().await;
        info!("shutdown requested; finishing in-flight deliveries");
        token.cancel();
    });
    app.run_until_stopped().await
}

/// SIGTERM and Ctrl-C, listened for from the moment they are registered.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn register() -> anyhow::Result<Self> {
        Ok(Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?,
        })
    }

    #[cfg_attr(
        not(unix),
        expect(unused_mut, reason = "only unix has a SIGTERM stream")
    )]
    async fn wait(mut self) {
        #[cfg(unix)]
        let term = self.term.recv();
        #[cfg(not(unix))]
        let term = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
    }
}
