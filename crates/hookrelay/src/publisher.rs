//! Group commit for publishing. Each `POST /v1/events` hands its event to one writer task, which
//! takes every event waiting at that moment and writes them all in one transaction, so under
//! load many publishes share one commit (one fsync on SQLite, one round trip on PostgreSQL)
//! instead of paying for one each. A caller is answered only after its event is committed.
//! New deliveries the dispatcher has room for are handed to it directly (see
//! [`crate::delivery::handoff`]).

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};
use tracing::warn;

use crate::delivery::Handoff;
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
    writer: Arc<Writer>,
}

/// Writes groups of events and hands their new deliveries to this node's dispatcher.
struct Writer {
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    handoff: Handoff,
}

impl Publisher {
    /// Starts the writer task; it ends when the last `Publisher` clone is dropped, after
    /// writing what it was given.
    pub fn start(store: Arc<dyn Store>, wake: Arc<Notify>, handoff: Handoff) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_GROUP);
        let writer = Arc::new(Writer {
            store,
            wake,
            handoff,
        });
        tokio::spawn(write_groups(writer.clone(), rx));
        Self { jobs, writer }
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
        self.writer.write(events).await
    }
}

async fn write_groups(writer: Arc<Writer>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        let (events, replies): (Vec<NewEvent>, Vec<_>) =
            jobs.drain(..).map(|j| (j.event, j.reply)).unzip();
        match writer.write(&events).await {
            Ok(results) => {
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

impl Writer {
    /// Writes `events` in one transaction, then starts the deliveries the hand-off took and
    /// wakes the dispatcher for the rest.
    async fn write(&self, events: &[NewEvent]) -> store::Result<Vec<Published>> {
        let mut taking = self.handoff.intake();
        let publication = match self.store.publish_many(events, &mut taking).await {
            // A `Conflict` means a concurrent writer (another node) stored one of the ids first
            // and nothing of this group was committed; run it again, when those ids read as
            // repeats. A fresh intake: the failed one gives its slots back as it drops.
            Err(store::Error::Conflict) => {
                taking = self.handoff.intake();
                self.store.publish_many(events, &mut taking).await?
            }
            other => other?,
        };
        if publication.queued > 0 {
            self.wake.notify_one();
        }
        self.handoff
            .dispatch(taking, events, publication.taken)
            .await;
        Ok(publication.results)
    }
}
