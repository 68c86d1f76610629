//! A small client for the parts of hookrelay's API the bench uses: creating webhooks and
//! publishing events (one per request, or in batches where `POST /v1/events/batch` exists).

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::server::ADMIN_KEY;

/// Concurrent requests used to create webhooks.
const CREATE_CONCURRENCY: usize = 16;

/// hookrelay's API at one address, with the admin key, over pooled keep-alive connections.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base_url: String,
    auth: String,
}

impl Api {
    /// A client for the server at `base_url` (`http://127.0.0.1:<port>`).
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(crate::publisher::CONCURRENCY)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(120))
            .build()
            .context("building the API client")?;
        Ok(Self {
            client,
            base_url: base_url.to_owned(),
            auth: format!("Bearer {ADMIN_KEY}"),
        })
    }

    /// A JSON `POST` of `body` to `path`, authenticated.
    pub fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base_url))
            .header("authorization", &self.auth)
            .header("content-type", "application/json")
            .body(body)
    }

    /// Creates one webhook in the default tenant from its JSON description.
    pub async fn create_webhook(&self, spec: &Value) -> anyhow::Result<()> {
        let response = self
            .post("/v1/webhooks", spec.to_string())
            .send()
            .await
            .context("POST /v1/webhooks")?;
        let status = response.status();
        if status != StatusCode::CREATED && status != StatusCode::OK {
            let text = response.text().await.unwrap_or_default();
            bail!("POST /v1/webhooks answered {status}: {text}");
        }
        Ok(())
    }

    /// Creates every webhook in `specs`, a few at a time.
    pub async fn create_webhooks(&self, specs: Vec<Value>) -> anyhow::Result<()> {
        let mut pending = specs.into_iter();
        let mut set = JoinSet::new();
        loop {
            while set.len() < CREATE_CONCURRENCY {
                let Some(spec) = pending.next() else { break };
                let api = self.clone();
                set.spawn(async move { api.create_webhook(&spec).await });
            }
            match set.join_next().await {
                Some(result) => result.context("webhook creation task")??,
                None => return Ok(()),
            }
        }
    }

    /// Whether the server has `POST /v1/events/batch` (anything but 404 and 405 means yes).
    pub async fn has_batch(&self) -> anyhow::Result<bool> {
        let response = self
            .post("/v1/events/batch", r#"{"events": []}"#)
            .send()
            .await
            .context("probing POST /v1/events/batch")?;
        Ok(!matches!(
            response.status(),
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ))
    }
}
