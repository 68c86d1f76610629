//! Group commit for publishing. Each `POST /v1/events` hands its event to one writer task, which
//! takes every event waiting at that moment and writes them all in one transaction, so under
//! load many publishes share one commit (one fsync on SQLite, one round trip on PostgreSQL)
//! instead of paying for one each. A caller is answered only after its event is committed.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};
use tracing::warn;

use crate::store::{self, NewEvent, Published, Store};

/// Most events written in one transaction.
const MAX_GROUP: usize = 1000;

struct Job {
    event: NewEvent,
    reply: oneshot::Sender<store::Result<Published>>,
}

/// Hands events to the group-commit writer.
#[derive(Clone)]
pub struct Publisher {
    jobs: mpsc::Sender<Job>,
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
}

impl Publisher {
    /// Starts the writer task; it ends when the last `Publisher` clone is dropped, after
    /// writing what it was given.
    pub fn start(store: Arc<dyn Store>, wake: Arc<Notify>) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(write_groups(store.clone(), wake.clone(), rx));
        Self { jobs, store, wake }
    }

    /// Publishes one event; answers once it is committed.
    pub async fn publish(&self, event: NewEvent) -> store::Result<Published> {
        let (reply, answer) = oneshot::channel();
        let stopped = || store::Error::Backend(sqlx::Error::PoolClosed);
        self.jobs
            .send(Job { event, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Publishes a batch given in one request: already a group, so it goes straight to the store.
    pub async fn publish_many(&self, events: &[NewEvent]) -> store::Result<Vec<Published>> {
        let results = with_conflict_retry(&*self.store, events).await?;
        wake_if_queued(&self.wake, &results);
        Ok(results)
    }
}

async fn write_groups(store: Arc<dyn Store>, wake: Arc<Notify>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        let (events, replies): (Vec<NewEvent>, Vec<_>) =
            jobs.drain(..).map(|j| (j.event, j.reply)).unzip();
        match with_conflict_retry(&*store, &events).await {
            Ok(results) => {
                wake_if_queued(&wake, &results);
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                warn!(error = %e, events = events.len(), "publishing a group failed");
                let shared = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(store::Error::Backend(sqlx::Error::Protocol(
                        shared.clone(),
                    ))));
                }
            }
        }
    }
}

/// A `Conflict` means a concurrent writer (another node) stored one of the ids first and
/// nothing of this group was committed; run it again, when those ids read as repeats.
async fn with_conflict_retry(
    store: &dyn Store,
    events: &[NewEvent],
) -> store::Result<Vec<Published>> {
    match store.publish_many(events).await {
        Err(store::Error::Conflict) => store.publish_many(events).await,
        other => other,
    }
}

fn wake_if_queued(wake: &Notify, results: &[Published]) {
    if results
        .iter()
        .any(|r| matches!(r, Published::Created { deliveries } if *deliveries > 0))
    {
        wake.notify_one();
    }
}
