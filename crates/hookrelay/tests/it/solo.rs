//! PostgreSQL only: a node that delivers alone owns every partition of the queue and keeps its
//! leases in memory; when a second node starts delivering, the first writes the leases it holds
//! in the partitions it gives up before letting them go, so nothing it holds is sent twice; and
//! a node whose lock session ends takes its locks again and goes on delivering. (More nodes,
//! joins, leaves and kills mid-drain: `partitions.rs`.)

use std::time::Duration;

use serde_json::json;
use sqlx::Connection;

use crate::helpers::{Backend, TestApp, TestReceiver, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_delivering_node_never_sends_what_the_solo_node_holds() {
    let Some(first) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    // Publishing through an API-only node leaves every delivery to a claim (no hand-off).
    let api = first.spawn_peer(|c| c.deliver = false).await;
    let receiver = TestReceiver::spawn().await;
    // Slow enough that the first node still holds its deliveries when the second has started
    // and the first has had time to notice it (about a second).
    receiver.set_delay(Duration::from_secs(3));
    let w = api.create_webhook(json!({"url": receiver.url("/h")})).await;
    let id = w["id"].as_str().unwrap();
    let batch = |from: usize| {
        json!({"events": (from..from + 10)
            .map(|i| json!({"id": format!("e{i}"), "type": "a.b", "data": {}}))
            .collect::<Vec<_>>()})
    };
    api.post("/v1/events/batch", batch(0)).await;
    receiver.wait_for(10).await;

    let second = first.spawn_peer(|_| {}).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // Both deliver now, each from its own partitions.
    api.post("/v1/events/batch", batch(10)).await;

    eventually(
        Duration::from_secs(30),
        "every delivery succeeds",
        || async {
            let list = api.deliveries(id).await;
            list.len() == 20 && list.iter().all(|d| d["status"] == "succeeded")
        },
    )
    .await;
    let mut ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    ids.sort_unstable();
    let mut expected: Vec<String> = (0..20).map(|i| format!("e{i}")).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected, "each event arrived exactly once");
    for d in api.deliveries(id).await {
        assert_eq!(d["attempt_count"], 1, "{d}");
    }
    second.teardown().await;
    api.teardown().await;
    first.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_lock_connection_is_cut_takes_its_locks_again_and_delivers() {
    let Some(node) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let api = node.spawn_peer(|c| c.deliver = false).await;
    let receiver = TestReceiver::spawn().await;
    api.create_webhook(json!({"url": receiver.url("/h")})).await;
    api.publish(json!({"type": "a.b", "data": {}})).await;
    receiver.wait_for(1).await;

    // The server ends the session holding the node's locks (as when a connection breaks).
    let mut admin = sqlx::PgConnection::connect(node.database_url())
        .await
        .unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' \
         AND classid = oid(1751872001) AND objid = oid(hashtext(current_schema())::int8 & 4294967295)",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(ended, [true], "one node, one lock session");

    // Left to claims (published on the API-only node): the node must have its locks back.
    for _ in 0..3 {
        api.publish(json!({"type": "a.b", "data": {}})).await;
    }
    let got = tokio::time::timeout(Duration::from_secs(15), receiver.wait_for(4)).await;
    assert!(got.is_ok(), "delivered after the lock connection was cut");
    let held = || async {
        let mut admin = sqlx::PgConnection::connect(node.database_url())
            .await
            .unwrap();
        let sessions: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' \
             AND classid = oid(1751872001) \
             AND objid = oid(hashtext(current_schema())::int8 & 4294967295)",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        sessions == 1
    };
    eventually(Duration::from_secs(10), "the locks held again", held).await;
    api.teardown().await;
    node.teardown().await;
}
