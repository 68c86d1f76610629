//! A complete [axum](https://docs.rs/axum) receiver for hookrelay deliveries, shown in
//! `docs/receiving.md`: it verifies the signature over the raw body, answers 401 when
//! verification fails, and processes each event once, deduplicating retries by event id (the
//! `webhook-id` header).
//!
//! ```text
//! WEBHOOK_SECRET=whsec_... cargo run -p hookrelay-signature --features http --example axum_receiver
//! ```
//!
//! then point a hookrelay webhook at `http://127.0.0.1:3000/webhooks`.

// --8<-- [start:receiver]
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
// `verify` reads an `http::HeaderMap` with the crate's `http` feature.
use hookrelay_signature::{Scheme, Secret, VerifyOptions, WEBHOOK_ID, verify};

#[derive(Clone)]
struct Receiver {
    scheme: Arc<Scheme>,
    /// The endpoint's secret; during a rotation, both the new and the old one.
    secrets: Arc<[Secret]>,
    /// Ids of the events already processed. A real receiver keeps them in its database (a
    /// unique column) for longer than hookrelay retries: over 7 hours with the default schedule.
    processed: Arc<Mutex<HashSet<String>>>,
}

/// `POST /webhooks`: `Bytes` is the raw body, exactly as signed; parse JSON only after verifying.
async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let opts = VerifyOptions::at(i64::try_from(now).unwrap_or(i64::MAX));
    if let Err(error) = verify(&receiver.scheme, &receiver.secrets, &headers, &body, &opts) {
        eprintln!("rejected a delivery: {error}");
        return (StatusCode::UNAUTHORIZED, "invalid signature");
    }
    // Every hookrelay delivery carries `webhook-id`, the event id, the same on every retry.
    let Some(event_id) = headers.get(WEBHOOK_ID).and_then(|v| v.to_str().ok()) else {
        return (StatusCode::BAD_REQUEST, "missing webhook-id");
    };
    let processed = || {
        receiver
            .processed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    };
    if !processed().insert(event_id.to_owned()) {
        // Seen before (a retry after a lost response): acknowledge it again, do nothing.
        return (StatusCode::OK, "duplicate");
    }
    match process(event_id, &body) {
        Ok(()) => (StatusCode::OK, "processed"),
        Err(error) => {
            eprintln!("event {event_id} failed: {error}");
            // Forget it, so that hookrelay's next attempt is processed again.
            processed().remove(event_id);
            (StatusCode::INTERNAL_SERVER_ERROR, "processing failed")
        }
    }
}

/// The application's work. Keep it short (hookrelay waits 10 s) or hand it to a job queue.
fn process(event_id: &str, body: &[u8]) -> Result<(), serde_json::Error> {
    let event: serde_json::Value = serde_json::from_slice(body)?;
    println!("event {event_id}: {}", event["type"]);
    Ok(())
}

fn app(receiver: Receiver) -> Router {
    Router::new()
        .route("/webhooks", post(receive))
        .with_state(receiver)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scheme = Scheme::StandardWebhooks;
    let secret = Secret::new(&scheme, &std::env::var("WEBHOOK_SECRET")?)?;
    let receiver = Receiver {
        scheme: Arc::new(scheme),
        secrets: Arc::new([secret]),
        processed: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app(receiver)).await?;
    Ok(())
}
// --8<-- [end:receiver]

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use hookrelay_signature::sign;
    use tower::ServiceExt as _;

    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn receiver() -> Receiver {
        let scheme = Scheme::StandardWebhooks;
        let secret = Secret::new(&scheme, SECRET).unwrap();
        Receiver {
            scheme: Arc::new(scheme),
            secrets: Arc::new([secret]),
            processed: Arc::default(),
        }
    }

    fn now() -> i64 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        i64::try_from(now.as_secs()).unwrap()
    }

    /// Sends `body` signed with `SECRET` for `msg_id` at `timestamp`, after `tweak`; returns
    /// the status and body of the answer.
    async fn deliver(
        receiver: &Receiver,
        msg_id: &str,
        timestamp: i64,
        body: &str,
        tweak: impl FnOnce(&mut Vec<(String, String)>, &mut String),
    ) -> (StatusCode, String) {
        let secrets = [Secret::new(&Scheme::StandardWebhooks, SECRET).unwrap()];
        let signed = sign(
            &Scheme::StandardWebhooks,
            &secrets,
            msg_id,
            timestamp,
            body.as_bytes(),
        );
        let mut headers: Vec<(String, String)> = signed
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        let mut body = body.to_owned();
        tweak(&mut headers, &mut body);
        let mut request = Request::post("/webhooks");
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let request = request.body(Body::from(body)).unwrap();
        let response = app(receiver.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    const EVENT: &str =
        r#"{"id":"evt_1","type":"invoice.paid","created_at":"2024-01-15T10:30:00Z","data":{}}"#;

    #[tokio::test]
    async fn processes_a_genuine_delivery_once() {
        let receiver = receiver();
        let first = deliver(&receiver, "evt_1", now(), EVENT, |_, _| {}).await;
        assert_eq!(first, (StatusCode::OK, "processed".to_owned()));
        let retry = deliver(&receiver, "evt_1", now(), EVENT, |_, _| {}).await;
        assert_eq!(retry, (StatusCode::OK, "duplicate".to_owned()));
        let next = deliver(&receiver, "evt_2", now(), EVENT, |_, _| {}).await;
        assert_eq!(next, (StatusCode::OK, "processed".to_owned()));
    }

    #[tokio::test]
    async fn answers_401_to_bad_deliveries_without_processing_them() {
        let receiver = receiver();
        let unauthorized = (StatusCode::UNAUTHORIZED, "invalid signature".to_owned());
        let tampered = deliver(&receiver, "evt_1", now(), EVENT, |_, body| {
            *body = body.replace("invoice.paid", "invoice.void");
        });
        assert_eq!(tampered.await, unauthorized);
        let stale = deliver(&receiver, "evt_1", now() - 600, EVENT, |_, _| {});
        assert_eq!(stale.await, unauthorized);
        let unsigned = deliver(&receiver, "evt_1", now(), EVENT, |headers, _| {
            headers.retain(|(name, _)| name != "webhook-signature");
        });
        assert_eq!(unsigned.await, unauthorized);
        let wrong_id = deliver(&receiver, "evt_1", now(), EVENT, |headers, _| {
            headers[0].1 = "evt_2".to_owned();
        });
        assert_eq!(wrong_id.await, unauthorized);
        assert!(receiver.processed.lock().unwrap().is_empty());
        // None of those counted: the genuine delivery is still processed.
        let genuine = deliver(&receiver, "evt_1", now(), EVENT, |_, _| {}).await;
        assert_eq!(genuine, (StatusCode::OK, "processed".to_owned()));
    }

    #[tokio::test]
    async fn a_failed_event_is_processed_again_on_retry() {
        let receiver = receiver();
        let broken = deliver(&receiver, "evt_1", now(), "not json", |_, _| {}).await;
        assert_eq!(broken.0, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(receiver.processed.lock().unwrap().is_empty());
        let retried = deliver(&receiver, "evt_1", now(), EVENT, |_, _| {}).await;
        assert_eq!(retried, (StatusCode::OK, "processed".to_owned()));
    }
}
