//! PostgreSQL only: a node that delivers alone keeps its leases in memory; when a second node
//! starts delivering, the first writes the leases it holds before either claims alongside the
//! other, so nothing it holds is sent twice.

use std::time::Duration;

use serde_json::json;

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
    // Both deliver now, with written leases.
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
        assert_eq!(d["attempts"], 1, "{d}");
    }
    second.teardown().await;
    api.teardown().await;
    first.teardown().await;
}
