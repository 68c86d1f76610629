//! The cross-node wake-up: a publish that leaves work to claims notifies every node on
//! [`WORK_CHANNEL`], and each node's listener wakes its dispatcher.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::{PgStore, WORK_CHANNEL};

impl PgStore {
    /// Forwards notifications on [`WORK_CHANNEL`] to `wake`. The listener reconnects by itself
    /// after a dropped connection; the fallback poll covers anything missed meanwhile.
    pub(super) fn listen_inner(&self, wake: Arc<Notify>, shutdown: CancellationToken) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let listener = async {
                    let mut listener = PgListener::connect_with(&pool).await?;
                    listener.listen(WORK_CHANNEL).await?;
                    Ok::<_, sqlx::Error>(listener)
                };
                let mut listener = tokio::select! {
                    () = shutdown.cancelled() => return,
                    l = listener => match l {
                        Ok(l) => l,
                        Err(e) => {
                            warn!(error = %e, "listening for work notifications failed; retrying");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(10));
                            continue;
                        }
                    },
                };
                backoff = Duration::from_millis(100);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        n = listener.recv() => match n {
                            Ok(_) => wake.notify_one(),
                            Err(e) => {
                                warn!(error = %e, "work notification listener lost its connection");
                                break;
                            }
                        },
                    }
                }
            }
        });
    }
}
