//! Group commit for publishing. Every `POST /v1/events` and `POST /v1/events/batch` hands its
//! events to one writer task, which takes every request waiting at that moment and writes them
//! all in one transaction, so under load many publishes share one commit (one fsync on SQLite,
//! one round trip on PostgreSQL, and each index page written once per group instead of once per
//! request). A caller is answered only after its events are committed. New deliveries the
//! dispatcher has room for are handed to it directly (see [`crate::delivery::handoff`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tracing::{info, warn};

use crate::clock::now_ms;
use crate::delivery::Handoff;
use crate::measure::Metrics;
use crate::store::{self, NewEvent, Published, Store};

/// A group stops taking further requests once it holds this many events.
const MAX_GROUP: usize = 2000;

/// Requests waiting for the writer.
const QUEUE: usize = 1024;

struct Job {
    events: Vec<NewEvent>,
    reply: oneshot::Sender<store::Result<Vec<Published>>>,
}

/// Hands events to the group-commit writer.
#[derive(Clone)]
pub struct Publisher {
    jobs: mpsc::Sender<Job>,
}

/// Writes groups of events and hands their new deliveries to this node's dispatcher.
struct Writer {
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    handoff: Handoff,
    metrics: Arc<Metrics>,
}

impl Publisher {
    /// Starts the writer task; it ends when the last `Publisher` clone is dropped, after
    /// writing what it was given.
    pub fn start(
        store: Arc<dyn Store>,
        wake: Arc<Notify>,
        handoff: Handoff,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let writer = Writer {
            store,
            wake,
            handoff,
            metrics,
        };
        tokio::spawn(write_groups(writer, rx));
        Self { jobs }
    }

    /// Publishes one event; answers once it is committed.
    pub async fn publish(&self, event: NewEvent) -> store::Result<Published> {
        let mut results = self.publish_many(vec![event]).await?;
        results
            .pop()
            .ok_or(store::Error::Backend(sqlx::Error::RowNotFound))
    }

    /// Publishes events given in one request, one result per event in order; answers once
    /// they are committed.
    pub async fn publish_many(&self, events: Vec<NewEvent>) -> store::Result<Vec<Published>> {
        let (reply, answer) = oneshot::channel();
        // The writer is gone only as the app stops.
        let stopped = || store::Error::Unavailable(sqlx::Error::PoolClosed);
        self.jobs
            .send(Job { events, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_groups(writer: Writer, mut rx: mpsc::Receiver<Job>) {
    let mut events: Vec<NewEvent> = Vec::with_capacity(MAX_GROUP);
    let mut replies = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            replies.push((job.reply, job.events.len()));
            events.extend(job.events);
            if events.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        match writer.write(&events).await {
            Ok(results) => {
                let mut results = results.into_iter();
                for (reply, n) in replies.drain(..) {
                    let _ = reply.send(Ok(results.by_ref().take(n).collect()));
                }
            }
            Err(e) => {
                warn!(error = ?e, events = events.len(), "publishing a group failed");
                for (reply, _) in replies.drain(..) {
                    let _ = reply.send(Err(copy_for_caller(&e)));
                }
            }
        }
        events.clear();
    }
}

/// After a failed publish whose hand-off took deliveries: if the commit went through all the
/// same (only its answer was lost), they wait for their lease although nothing sends them. The
/// caller, answered with an error, publishes again and hears "published before"; so the
/// deliveries are made due now, as soon as the database answers again (retried until it does
/// or the lease has ended anyway). If nothing was committed, this changes nothing.
async fn release_handed_off(store: Arc<dyn Store>, lease_until: i64) {
    let mut backoff = Duration::from_millis(100);
    while now_ms() < lease_until {
        match store.release_handed_off(lease_until, now_ms()).await {
            Ok(0) => return,
            Ok(n) => {
                info!(
                    deliveries = n,
                    "a publish answered with an error had committed: its deliveries are due now"
                );
                return;
            }
            Err(_) => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// The group's error for one of its callers (a sqlx error cannot be cloned): the same kind, so
/// an outage still answers 503, with the cause's text.
fn copy_for_caller(e: &store::Error) -> store::Error {
    use std::error::Error as _;
    let cause = || sqlx::Error::Protocol(e.source().map_or_else(String::new, |c| c.to_string()));
    match e {
        store::Error::NotFound => store::Error::NotFound,
        store::Error::Conflict => store::Error::Conflict,
        store::Error::Unavailable(_) => store::Error::Unavailable(cause()),
        store::Error::Backend(_) => store::Error::Backend(cause()),
    }
}

impl Writer {
    /// Writes `events` in one transaction, then starts the deliveries the hand-off took and
    /// wakes the dispatcher for the rest.
    async fn write(&self, events: &[NewEvent]) -> store::Result<Vec<Published>> {
        let mut taking = self.handoff.intake();
        let written = match self.store.publish_many(events, &mut taking).await {
            // A `Conflict` means a concurrent writer (another node) stored one of the ids first
            // and nothing of this group was committed; run it again, when those ids read as
            // repeats. A fresh intake: the failed one gives its slots back as it drops.
            Err(store::Error::Conflict) => {
                taking = self.handoff.intake();
                self.store.publish_many(events, &mut taking).await
            }
            other => other,
        };
        let publication = match written {
            Ok(publication) => publication,
            Err(e) => {
                if let Some(until) = taking.taken_until() {
                    tokio::spawn(release_handed_off(self.store.clone(), until));
                }
                return Err(e);
            }
        };
        let created = publication
            .results
            .iter()
            .filter(|r| matches!(r, Published::Created { .. }))
            .count();
        self.metrics.events_published(created);
        if publication.queued > taking.left_full() {
            self.wake.notify_one();
        }
        self.handoff
            .dispatch(taking, events, publication.taken)
            .await;
        Ok(publication.results)
    }
}
