//! Behaviour across nodes and limits: a publish on an API-only node wakes a delivering node at
//! once through PostgreSQL LISTEN/NOTIFY; per-webhook rate limits space attempts out.

use std::time::Duration;

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestReceiver};

backend_tests!(
    a_rate_limited_webhook_receives_attempts_spaced_by_its_rate,
    a_hanging_endpoint_does_not_hold_up_a_healthy_one,
    no_more_requests_than_the_per_host_limit_reach_one_host_at_once,
);

async fn no_more_requests_than_the_per_host_limit_reach_one_host_at_once(app: &mut TestApp) {
    app.stop().await;
    let capped = app.spawn_peer(|c| c.per_host_connections = 3).await;
    let receiver = TestReceiver::spawn().await;
    receiver.set_delay(Duration::from_millis(100));
    let mut hooks = Vec::new();
    for i in 0..10 {
        hooks.push(
            capped
                .create_webhook(json!({"url": receiver.url(&format!("/w{i}"))}))
                .await,
        );
    }
    for _ in 0..3 {
        capped.publish(json!({"type": "a.b", "data": {}})).await;
    }
    receiver.wait_for(30).await;
    assert!(
        receiver.peak_in_flight() <= 3,
        "peak {}",
        receiver.peak_in_flight()
    );
    assert!(
        receiver.peak_in_flight() >= 2,
        "still concurrent: peak {}",
        receiver.peak_in_flight()
    );
    crate::helpers::eventually(Duration::from_secs(20), "all thirty succeed", || async {
        let mut done = 0;
        for w in &hooks {
            let list = capped.deliveries(w["id"].as_str().unwrap()).await;
            done += list.iter().filter(|d| d["status"] == "succeeded").count();
        }
        done == 30
    })
    .await;
    capped.teardown().await;
    app.restart().await;
}

async fn a_hanging_endpoint_does_not_hold_up_a_healthy_one(app: &mut TestApp) {
    // Few global slots, so that without per-webhook limits the hanging endpoint would take them all.
    app.stop().await;
    let small = app
        .spawn_peer(|c| {
            c.max_in_flight = 8;
            c.per_webhook_concurrency = 4;
        })
        .await;
    let hanging = TestReceiver::spawn().await;
    hanging.set_delay(Duration::from_secs(30));
    let healthy = TestReceiver::spawn().await;
    let stuck = small
        .create_webhook(json!({"url": hanging.url("/hang"), "events": ["slow.*"],
                               "timeout_seconds": 5, "retry_schedule": []}))
        .await;
    small
        .create_webhook(json!({"url": healthy.url("/ok"), "events": ["fast.*"]}))
        .await;
    for i in 0..20 {
        small
            .publish(json!({"type": "slow.e", "data": {"i": i}}))
            .await;
    }
    hanging.wait_for(4).await;
    for i in 0..10 {
        small
            .publish(json!({"type": "fast.e", "data": {"i": i}}))
            .await;
    }
    healthy.wait_for(10).await;
    // All ten healthy deliveries arrived while the hanging endpoint still held its first
    // requests: none of its attempts has finished yet.
    let stuck_log = small.deliveries(stuck["id"].as_str().unwrap()).await;
    assert!(
        stuck_log.iter().all(|d| d["attempt_count"] == 0),
        "healthy deliveries waited for the hanging ones"
    );
    assert_eq!(
        hanging.received().len(),
        4,
        "the hanging webhook is held to its concurrency limit"
    );
    small.teardown().await;
    app.restart().await;
}

async fn a_rate_limited_webhook_receives_attempts_spaced_by_its_rate(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "rate_limit_per_second": 4}))
        .await;
    for i in 0..6 {
        app.publish(json!({"type": "a.b", "data": {"i": i}})).await;
    }
    receiver.wait_for(6).await;
    let arrivals = receiver.arrivals();
    // Six attempts at four a second cannot all arrive within less than 5/4 s.
    let spread = arrivals[5].duration_since(arrivals[0]);
    assert!(
        spread >= Duration::from_millis(1200),
        "arrived within {spread:?}"
    );
    for pair in arrivals.windows(2) {
        assert!(
            pair[1].duration_since(pair[0]) >= Duration::from_millis(200),
            "{arrivals:?}"
        );
    }
    crate::helpers::eventually(Duration::from_secs(10), "all six succeed", || async {
        let list = app.deliveries(w["id"].as_str().unwrap()).await;
        list.len() == 6
            && list
                .iter()
                .all(|d| d["status"] == "succeeded" && d["attempt_count"] == 1)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_on_an_api_only_node_wakes_a_delivering_node_at_once() {
    // The delivering node polls only once a minute: only the notification can deliver in time.
    let Some(worker) =
        TestApp::spawn_with(Backend::Postgres, |c| c.poll_interval_ms = 60_000).await
    else {
        return;
    };
    let api = worker.spawn_peer(|c| c.deliver = false).await;
    let receiver = TestReceiver::spawn().await;
    api.create_webhook(json!({"url": receiver.url("/h")})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.publish(json!({"type": "a.b", "data": {}})).await;
    let got = tokio::time::timeout(Duration::from_secs(15), receiver.wait_for(1)).await;
    assert!(got.is_ok(), "the delivering node was woken by NOTIFY");
    api.teardown().await;
    worker.teardown().await;
}
