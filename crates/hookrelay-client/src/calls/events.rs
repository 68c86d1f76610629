//! Publishing events, one or a batch, and reading one back.

use bytes::Bytes;

use crate::ids::new_event_id;
use crate::models::{Batch, BatchResult, Event, NewEvent, Published};
use crate::operations::{GET_EVENT, PUBLISH, PUBLISH_BATCH};
use crate::transport::RawAnswer;
use crate::{Client, Error};

impl Client {
    /// Publishes one event (admin key): 202 once it and its deliveries are stored.
    ///
    /// An event without an `id` gets one here, before the first try, and every retry (after
    /// a lost connection, a timeout, a 5xx or a 429) sends that same id, which hookrelay
    /// stores at most once: a retry can never publish the event twice. A repeat answers the
    /// first publish's result.
    pub async fn publish(&self, event: &NewEvent) -> Result<Published, Error> {
        if event.id.is_some() {
            return self.call(&PUBLISH, &[], &[], Some(event)).await;
        }
        let event = NewEvent {
            id: Some(new_event_id()),
            ..event.clone()
        };
        self.call(&PUBLISH, &[], &[], Some(&event)).await
    }

    /// Publishes up to 1,000 events in one request (admin key), each given an id here if it
    /// has none, so the batch is retried as safely as [`Client::publish`]. Each event's
    /// outcome is in the answer, in order: one can be refused while the others go.
    pub async fn publish_batch(&self, events: &[NewEvent]) -> Result<BatchResult, Error> {
        let batch = Batch {
            events: events
                .iter()
                .map(|e| NewEvent {
                    id: e.id.clone().or_else(|| Some(new_event_id())),
                    ..e.clone()
                })
                .collect(),
        };
        self.call(&PUBLISH_BATCH, &[], &[], Some(&batch)).await
    }

    /// Sends a `POST /v1/events` body written by the caller, once, without retries, and
    /// hands back the answer unread: for load generators that prepare bodies ahead and
    /// count outcomes themselves. The body should carry an `id`.
    pub async fn publish_raw(&self, body: impl Into<Bytes>) -> Result<RawAnswer, Error> {
        self.call_raw(&PUBLISH, body.into()).await
    }

    /// [`Client::publish_raw`] for `POST /v1/events/batch` (`{"events": [...]}`).
    pub async fn publish_batch_raw(&self, body: impl Into<Bytes>) -> Result<RawAnswer, Error> {
        self.call_raw(&PUBLISH_BATCH, body.into()).await
    }

    /// A published event with its deliveries (admin key).
    pub async fn get_event(&self, id: &str) -> Result<Event, Error> {
        self.call(&GET_EVENT, &[id], &[], None).await
    }
}
