//! `hookrelay serve`: the API and the delivery workers in one process, until SIGTERM or Ctrl-C.

use tracing::{info, warn};

use crate::app::App;
use crate::config::Config;
use crate::telemetry;

pub async fn run(config: Config) -> anyhow::Result<()> {
    telemetry::init(config.log_format);
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
    let token = app.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutdown requested; finishing in-flight deliveries");
        token.cancel();
    });
    app.run_until_stopped().await
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
