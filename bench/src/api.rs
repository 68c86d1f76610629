//! hookrelay's API as the bench uses it, through the project's own client
//! (`hookrelay-client`): creating webhooks, and publishing bodies the publisher wrote ahead,
//! one event per request or in batches where `POST /v1/events/batch` exists. Publishes are
//! sent once each (the client's raw calls): the bench counts failures, it does not hide them.

use std::time::Duration;

use anyhow::Context;
use hookrelay_client::{Client, NewWebhook, RawAnswer, RetryPolicy, StatusCode};
use tokio::task::JoinSet;

use crate::server::ADMIN_KEY;

/// Concurrent requests used to create webhooks.
const CREATE_CONCURRENCY: usize = 16;

/// hookrelay's API at one address, with the admin key, over pooled keep-alive connections.
#[derive(Clone)]
pub struct Api {
    client: Client,
}

impl Api {
    /// A client for the server at `base_url` (`http://127.0.0.1:<port>`).
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(crate::publisher::CONCURRENCY)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(120))
            .build()
            .context("building the API client")?;
        let client = Client::builder(base_url, ADMIN_KEY)
            .http_client(http)
            .retry(RetryPolicy::never())
            .build()?;
        Ok(Self { client })
    }

    /// The typed client, for the calls a scenario makes beyond publishing.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `POST /v1/events` with a body written ahead, once.
    pub async fn publish(&self, body: String) -> Result<RawAnswer, hookrelay_client::Error> {
        self.client.publish_raw(body).await
    }

    /// `POST /v1/events/batch` with a body written ahead, once.
    pub async fn publish_batch(&self, body: String) -> Result<RawAnswer, hookrelay_client::Error> {
        self.client.publish_batch_raw(body).await
    }

    /// Creates every webhook in `specs` in the default tenant, a few at a time.
    pub async fn create_webhooks(&self, specs: Vec<NewWebhook>) -> anyhow::Result<()> {
        let mut pending = specs.into_iter();
        let mut set = JoinSet::new();
        loop {
            while set.len() < CREATE_CONCURRENCY {
                let Some(spec) = pending.next() else { break };
                let client = self.client.clone();
                set.spawn(async move {
                    client
                        .create_webhook(&spec)
                        .await
                        .with_context(|| format!("creating a webhook for {}", spec.url))
                });
            }
            match set.join_next().await {
                Some(result) => {
                    result.context("webhook creation task")??;
                }
                None => return Ok(()),
            }
        }
    }

    /// Whether the server has `POST /v1/events/batch` (anything but 404 and 405 means yes).
    pub async fn has_batch(&self) -> anyhow::Result<bool> {
        let answer = self
            .client
            .publish_batch_raw(r#"{"events": []}"#)
            .await
            .context("probing POST /v1/events/batch")?;
        Ok(!matches!(
            answer.status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ))
    }
}
