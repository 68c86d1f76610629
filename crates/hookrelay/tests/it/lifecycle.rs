//! The process: deliveries pending at a restart are delivered after it; a graceful shutdown
//! lets in-flight attempts finish and records them, and gives back what it had queued; a
//! publish wakes an idle worker at once; one process at a time uses an SQLite file.

use std::time::Duration;

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, TestReceiver, test_config};

backend_tests!(
    deliveries_pending_at_a_restart_are_delivered_after_it,
    graceful_shutdown_finishes_and_records_in_flight_attempts,
    deliveries_queued_at_a_graceful_shutdown_are_sent_at_once_after_the_restart,
    an_idle_worker_wakes_for_a_publish_without_waiting_for_its_poll,
);

/// SQLite leases and failure clocks live in the serving process's memory, so a second process
/// on the same file would send what the first holds: it is refused at start, naming the cause,
/// and so is one that would not deliver; the file is free again once the first has stopped.
/// (`serve.rs` does the same with the real binary, and with `kill -9`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_at_a_time_uses_an_sqlite_file() {
    let mut app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite needs no server");
    let url = app.database_url().to_owned();
    let refused = hookrelay::App::build(test_config(&url))
        .await
        .err()
        .expect("a second delivering process is refused");
    assert!(
        format!("{refused:#}").contains("another hookrelay process is using"),
        "{refused:#}"
    );
    // Not even one that does not deliver: leases and failure clocks live in the first
    // process's memory, and the file has one owner.
    let mut api_only = test_config(&url);
    api_only.deliver = false;
    let refused = hookrelay::App::build(api_only)
        .await
        .err()
        .expect("a second process is refused whatever it does");
    assert!(
        format!("{refused:#}").contains("another hookrelay process"),
        "{refused:#}"
    );

    app.stop().await;
    let next = hookrelay::App::build(test_config(&url))
        .await
        .expect("the lock is released when the first process stops");
    drop(next);
    app.restart().await;
    app.teardown().await;
}

async fn deliveries_pending_at_a_restart_are_delivered_after_it(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_status(503);
    let w = app
        .create_webhook(json!({"url": receiver.url("/h"), "retry_schedule": [2]}))
        .await;
    let wid = w["id"].as_str().unwrap().to_owned();
    let e = app
        .publish(json!({"type": "a.b", "data": {"k": "v"}}))
        .await;
    receiver.wait_for(1).await;
    crate::helpers::eventually(
        Duration::from_secs(10),
        "the failed attempt is recorded",
        || async {
            app.deliveries(&wid)
                .await
                .first()
                .is_some_and(|d| d["attempt_count"] == 1)
        },
    )
    .await;
    app.stop().await;
    receiver.set_status(200);
    app.restart().await;
    let d = app.wait_for_delivery(&wid, "succeeded").await;
    assert_eq!(d["attempt_count"], 2);
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("webhook-id"), e["id"]);
}

async fn graceful_shutdown_finishes_and_records_in_flight_attempts(app: &mut TestApp) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_delay(Duration::from_millis(1500));
    let w = app
        .create_webhook(json!({"url": receiver.url("/slow")}))
        .await;
    let wid = w["id"].as_str().unwrap().to_owned();
    app.publish(json!({"type": "a.b", "data": {}})).await;
    receiver.wait_for(1).await;
    // The attempt is in flight (the receiver is still sleeping) when shutdown starts.
    app.stop().await;
    app.restart().await;
    let list = app.deliveries(&wid).await;
    assert_eq!(
        list[0]["status"], "succeeded",
        "the in-flight attempt finished before exit: {}",
        list[0]
    );
    assert_eq!(list[0]["attempt_count"], 1);
    // Nothing is sent again after the restart.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1);
}

async fn deliveries_queued_at_a_graceful_shutdown_are_sent_at_once_after_the_restart(
    app: &mut TestApp,
) {
    // One connection per host: of three deliveries, the first is sent, the second waits in
    // the host's queue (leased) and the third is left due.
    app.stop().await;
    let receiver = TestReceiver::spawn().await;
    receiver.set_delay(Duration::from_millis(1000));
    let mut one = TestApp::spawn_with(app.backend, |c| c.per_host_connections = 1)
        .await
        .unwrap();
    let w = one.create_webhook(json!({"url": receiver.url("/h")})).await;
    let wid = w["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        one.publish(json!({"type": "a.b", "data": {}})).await;
    }
    receiver.wait_for(1).await;
    one.stop().await;
    receiver.set_delay(Duration::ZERO);
    one.restart().await;
    // The lease is 35 s: within this wait, only a delivery given back at shutdown is sent.
    let got = tokio::time::timeout(Duration::from_secs(10), receiver.wait_for(3)).await;
    assert!(
        got.is_ok(),
        "all three delivered without waiting for a lease; got {}",
        receiver.received().len()
    );
    crate::helpers::eventually(
        Duration::from_secs(10),
        "all three are recorded as succeeded",
        || async {
            let list = one.deliveries(&wid).await;
            list.len() == 3 && list.iter().all(|d| d["status"] == "succeeded")
        },
    )
    .await;
    one.teardown().await;
    app.restart().await;
}

async fn an_idle_worker_wakes_for_a_publish_without_waiting_for_its_poll(app: &mut TestApp) {
    // With a one-minute fallback poll, only the wake-up can deliver within the wait below.
    app.stop().await;
    let receiver = TestReceiver::spawn().await;
    let idle = TestApp::spawn_with(app.backend, |c| c.poll_interval_ms = 60_000)
        .await
        .unwrap();
    let w = idle
        .create_webhook(json!({"url": receiver.url("/h")}))
        .await;
    // Let the worker go idle first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    idle.publish(json!({"type": "a.b", "data": {}})).await;
    let got = tokio::time::timeout(Duration::from_secs(10), receiver.wait_for(1)).await;
    assert!(got.is_ok(), "delivered without waiting for the 60 s poll");
    idle.wait_for_delivery(w["id"].as_str().unwrap(), "succeeded")
        .await;
    idle.teardown().await;
    app.restart().await;
}
