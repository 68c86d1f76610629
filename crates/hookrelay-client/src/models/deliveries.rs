//! The delivery log: deliveries, their attempts, and the filters a log is read with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A delivery's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or held while its webhook is disabled).
    Pending,
    /// An attempt got a 2xx.
    Succeeded,
    /// Its retry schedule ran out, or a retry could not help.
    Failed,
    /// A state this client does not know (a newer server's). Never sent.
    #[serde(other, skip_serializing)]
    Unknown,
}

impl DeliveryStatus {
    /// The state's name in the API, as filters take it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Unknown => "unknown",
        }
    }
}

/// One event for one webhook (schema `DeliveryOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// `dlv_…`.
    pub id: String,
    /// The event it delivers.
    pub event_id: String,
    /// The webhook it goes to.
    pub webhook_id: String,
    /// The event's type.
    pub event_type: String,
    /// Its state.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempt_count: u32,
    /// When it is tried next (null when finished, or held).
    pub next_attempt_at: Option<String>,
    /// Made by a test send rather than a published event.
    pub test: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// A delivery with all its attempts (schema `DeliveryDetail`: `DeliveryOut` and two more
/// fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    /// `dlv_…`.
    pub id: String,
    /// The event it delivers.
    pub event_id: String,
    /// The webhook it goes to.
    pub webhook_id: String,
    /// The event's type.
    pub event_type: String,
    /// Its state.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempt_count: u32,
    /// When it is tried next.
    pub next_attempt_at: Option<String>,
    /// Made by a test send.
    pub test: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// What the latest attempt sent (re-rendered; never a secret).
    pub request: Option<SentRequest>,
}

/// One HTTP request of a delivery (schema `AttemptOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// `att_…`.
    pub id: String,
    /// 1 for the first.
    pub attempt: u32,
    /// RFC 3339.
    pub started_at: String,
    /// How long it took.
    pub latency_ms: i64,
    /// The endpoint's status, when it answered.
    pub status_code: Option<u16>,
    /// The start of the endpoint's answer.
    pub response_body: Option<String>,
    /// Why no acceptable answer came: timeout, refused, dns, tls….
    pub error: Option<String>,
    /// Whether it got a 2xx in time.
    pub succeeded: bool,
}

/// The request an attempt sent (schema `RequestOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRequest {
    /// Which attempt.
    pub attempt: u32,
    /// `POST`.
    pub method: String,
    /// The webhook's URL.
    pub url: String,
    /// The headers hookrelay set, by lowercase name (custom headers' values hidden).
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: String,
}

/// Which deliveries a log lists (the query of `…/deliveries`); `Default` lists them all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only this state.
    pub status: Option<DeliveryStatus>,
    /// Only this event type.
    pub event_type: Option<String>,
    /// Created at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Created before this RFC 3339 time.
    pub until: Option<String>,
    /// Items per page (server default 50, at most 250).
    pub limit: Option<u32>,
}

impl DeliveryFilter {
    /// The filter as query parameters (`limit` is the pager's).
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(status) = self.status {
            query.push(("status", status.as_str().to_owned()));
        }
        for (name, value) in [
            ("event_type", &self.event_type),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if let Some(value) = value {
                query.push((name, value.clone()));
            }
        }
        query
    }
}
