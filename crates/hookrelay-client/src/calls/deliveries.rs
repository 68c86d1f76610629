//! The delivery log and what acts on it: test sends, retries, replays, statistics.

use crate::models::{
    Delivery, DeliveryDetail, DeliveryFilter, Replay, Replayed, Stats, TestResult, TestSend,
};
use crate::operations::*;
use crate::page::Pages;
use crate::{Client, Error};

impl Client {
    /// A webhook's deliveries, newest first, filtered.
    pub fn list_deliveries(&self, webhook_id: &str, filter: &DeliveryFilter) -> Pages<Delivery> {
        let op = self.pick(&LIST_DELIVERIES, &LIST_TENANT_DELIVERIES);
        let params = self
            .scoped(&[webhook_id])
            .into_iter()
            .map(str::to_owned)
            .collect();
        let pages = Pages::new(self.clone(), op, params, filter.query());
        match filter.limit {
            Some(limit) => pages.limit(limit),
            None => pages,
        }
    }

    /// One delivery with all its attempts and the request the latest sent.
    pub async fn get_delivery(&self, id: &str) -> Result<DeliveryDetail, Error> {
        self.call(&GET_DELIVERY, &[id], &[], None).await
    }

    /// Makes a delivery due now (a 409 [`Error::Api`] while its webhook is disabled).
    pub async fn retry_delivery(&self, id: &str) -> Result<Delivery, Error> {
        self.call(&RETRY_DELIVERY, &[id], &[], None).await
    }

    /// Sends the catalog example of `event_type` to the webhook now and answers the attempt's
    /// result (a test send is never retried, even if it failed).
    pub async fn test_webhook(&self, id: &str, send: &TestSend) -> Result<TestResult, Error> {
        let op = self.pick(&TEST_WEBHOOK, &TEST_TENANT_WEBHOOK);
        self.call(op, &self.scoped(&[id]), &[], Some(send)).await
    }

    /// Queues past deliveries of the webhook again.
    pub async fn replay(&self, id: &str, replay: &Replay) -> Result<Replayed, Error> {
        let op = self.pick(&REPLAY, &REPLAY_TENANT);
        self.call(op, &self.scoped(&[id]), &[], Some(replay)).await
    }

    /// The webhook's statistics over `window` (`1h` to `30d`; `None`: 24 hours).
    pub async fn webhook_stats(&self, id: &str, window: Option<&str>) -> Result<Stats, Error> {
        let op = self.pick(&WEBHOOK_STATS, &TENANT_WEBHOOK_STATS);
        let query: Vec<_> = window
            .map(|w| ("window", w.to_owned()))
            .into_iter()
            .collect();
        self.call(op, &self.scoped(&[id]), &query, None).await
    }
}
