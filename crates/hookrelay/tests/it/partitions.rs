//! PostgreSQL only: delivering nodes share the due queue out in partitions, each claiming only
//! from its own with its leases in memory (`store/postgres/membership.rs`). Two and three nodes
//! drain one backlog between them, each delivery arriving exactly once, and end owning fair
//! shares (seen in `pg_locks`); a node joining and leaving mid-drain costs no loss and no
//! duplicate; a node killed with `kill -9` mid-drain has its partitions taken over, and what it
//! held is sent again without waiting for any lease, nothing lost.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::{connect, metric, pending, start_node, wait_drained};
use crate::crash::arrivals;
use crate::helpers::{ADMIN_KEY, Backend, ScratchDatabase, TestApp, TestReceiver, eventually};
use crate::serve::Api;

/// The backlog: enough that, at the pace below, one node would take several seconds to drain
/// it, so that nodes starting together all take part.
const EVENTS: usize = 1_500;
/// Attempts in flight per node (and claim size); with the receiver's delay, a few hundred
/// deliveries a second per node.
const MAX_IN_FLIGHT: usize = 8;
const RECEIVER_DELAY: Duration = Duration::from_millis(25);
/// A bound with a wide margin, never a measurement.
const BOUND: Duration = Duration::from_secs(60);
/// Node processes' leases, far longer than the test takes: what a killed node held is sent
/// again because its partitions are taken over, not because its leases ran out.
const LEASE_SECONDS: u64 = 600;
/// The first key of the partition locks (`membership.rs`'s `PARTITION`).
const PARTITION_KEY: i64 = 0x686b_7300;

fn event_ids() -> HashSet<String> {
    (0..EVENTS).map(|i| format!("e{i:05}")).collect()
}

/// Queues the backlog through `publish` (`POST /v1/events/batch` with the admin key), 100
/// events a request.
async fn queue_backlog<F, Fut>(publish: F)
where
    F: Fn(Value) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for from in (0..EVENTS).step_by(100) {
        let events: Vec<Value> = (from..from + 100)
            .map(|i| json!({"id": format!("e{i:05}"), "type": "a.b", "data": {"i": i}}))
            .collect();
        publish(json!({ "events": events })).await;
    }
}

/// How many partitions each session owns, fewest first.
async fn owners(db: &sqlx::PgPool) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND objsubid = 2 AND objid = oid(hashtext(current_schema())::int8 & 4294967295) \
         AND classid::int8 BETWEEN $1 AND $1 + 63 GROUP BY pid ORDER BY 1",
    )
    .bind(PARTITION_KEY)
    .fetch_all(db)
    .await
    .unwrap()
}

/// Whether `n` sessions own the 64 partitions in fair shares (differing by one at most).
async fn shared_fairly(db: &sqlx::PgPool, n: usize) -> bool {
    let counts = owners(db).await;
    counts.len() == n
        && counts.iter().sum::<i64>() == 64
        && counts.last().unwrap() - counts.first().unwrap() <= 1
}

/// Waits until every event arrived and nothing is pending; answers the events that arrived
/// more than once.
async fn drained(receiver: &TestReceiver, db: &sqlx::PgPool) -> Vec<(String, usize)> {
    wait_drained(receiver, &event_ids(), db, BOUND).await;
    let counts = arrivals(receiver);
    assert_eq!(counts.len(), EVENTS, "only the backlog's events arrive");
    let mut repeated: Vec<(String, usize)> = counts.into_iter().filter(|(_, n)| *n > 1).collect();
    repeated.sort();
    repeated
}

/// The attempts an in-process node made, by its `/metrics`.
async fn attempts(node: &TestApp) -> f64 {
    metric(
        &node.client,
        node.url("/metrics"),
        "hookrelay_attempts_total",
    )
    .await
}

/// An API-only node with a slow receiver's webhook and the backlog queued; a connection to its
/// database for the test's own reads.
async fn backlog() -> Option<(TestApp, TestReceiver, sqlx::PgPool)> {
    let api = TestApp::spawn_with(Backend::Postgres, |c| c.deliver = false).await?;
    let receiver = TestReceiver::spawn().await;
    receiver.set_delay(RECEIVER_DELAY);
    api.create_webhook(json!({"url": receiver.url("/h")})).await;
    queue_backlog(|batch| async {
        let (status, _) = api.post("/v1/events/batch", batch).await;
        assert!(status.is_success(), "{status}");
    })
    .await;
    let db = connect(api.database_url()).await;
    Some((api, receiver, db))
}

/// A delivering node on `api`'s database.
async fn worker(api: &TestApp) -> TestApp {
    api.spawn_peer(|c| {
        c.max_in_flight = MAX_IN_FLIGHT;
        c.claim_batch = MAX_IN_FLIGHT;
    })
    .await
}

async fn nodes_drain_a_backlog_each_delivery_exactly_once(n: usize) {
    let Some((api, receiver, db)) = backlog().await else {
        return;
    };
    let started = std::time::Instant::now();
    let mut workers = Vec::new();
    for _ in 0..n {
        workers.push(worker(&api).await);
    }
    eventually(BOUND, "the nodes own fair shares of the partitions", || {
        shared_fairly(&db, n)
    })
    .await;
    let shared = started.elapsed();
    assert_eq!(drained(&receiver, &db).await, [], "none arrived twice");
    println!(
        "{n} nodes: shared out after {shared:?}, drained after {:?}",
        started.elapsed()
    );
    for node in &workers {
        assert!(attempts(node).await > 0.0, "every node delivered");
    }
    // Each counted its attempts in rows of its own (`store/shared/hours.rs`), all of them.
    let (writers, counted): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(DISTINCT writer), CAST(SUM(succeeded) AS BIGINT) FROM attempt_hours",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((writers, counted), (n as i64, EVENTS as i64));
    for node in workers {
        node.teardown().await;
    }
    db.close().await;
    api.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_drain_a_backlog_each_delivery_exactly_once() {
    nodes_drain_a_backlog_each_delivery_exactly_once(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_drain_a_backlog_each_delivery_exactly_once() {
    nodes_drain_a_backlog_each_delivery_exactly_once(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joining_and_leaving_mid_drain_loses_and_repeats_nothing() {
    let Some((api, receiver, db)) = backlog().await else {
        return;
    };
    let first = worker(&api).await;
    eventually(BOUND, "the first node delivers", || async {
        receiver.received().len() >= EVENTS / 10
    })
    .await;
    let mut second = worker(&api).await;
    eventually(BOUND, "the two share the partitions", || {
        shared_fairly(&db, 2)
    })
    .await;
    eventually(BOUND, "the second node delivers", || async {
        attempts(&second).await > 0.0
    })
    .await;
    assert!(
        receiver.received().len() < EVENTS,
        "the backlog outlasted the join (a slower receiver would make it)"
    );
    // Leaves mid-drain: finishes its attempts, writes what it still holds, lets go.
    second.stop().await;
    eventually(BOUND, "the first node owns every partition again", || {
        shared_fairly(&db, 1)
    })
    .await;
    assert_eq!(drained(&receiver, &db).await, [], "none arrived twice");
    first.teardown().await;
    db.close().await;
    api.teardown().await;
}

/// The attempts in flight on a node process, by its `/metrics`.
async fn in_flight(node: &Api) -> f64 {
    let url = format!("{}/metrics", node.base);
    metric(&node.client, url, "hookrelay_attempts_in_flight").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_drain_has_its_partitions_taken_over_and_nothing_lost() {
    let Some(database) = ScratchDatabase::create(Backend::Postgres).await else {
        return;
    };
    let url = database.url();
    let (api_node, api_address) = start_node(url, "api", LEASE_SECONDS, MAX_IN_FLIGHT);
    let api = Api::new(&api_address);
    let receiver = TestReceiver::spawn().await;
    receiver.set_delay(RECEIVER_DELAY);
    api.post(
        ADMIN_KEY,
        "/v1/webhooks",
        json!({"url": receiver.url("/h")}),
    )
    .await;
    queue_backlog(|batch| async {
        api.post(ADMIN_KEY, "/v1/events/batch", batch).await;
    })
    .await;
    let db = connect(url).await;
    let (doomed, doomed_address) = start_node(url, "worker", LEASE_SECONDS, MAX_IN_FLIGHT);
    let (survivor, _) = start_node(url, "worker", LEASE_SECONDS, MAX_IN_FLIGHT);
    let doomed_api = Api::new(&doomed_address);
    eventually(
        BOUND,
        "the two share the partitions, the doomed one has attempts in flight",
        || async { shared_fairly(&db, 2).await && in_flight(&doomed_api).await > 0.0 },
    )
    .await;
    doomed.kill();
    // What the dead node sent but never recorded is pending yet arrived; only that may arrive
    // twice. (The survivor's own attempts in flight are in this set too: a bound, not a count.)
    let arrived = arrivals(&receiver);
    let in_flight_at_kill: HashSet<String> = (pending(&db).await.into_iter())
        .filter(|id| arrived.contains_key(id))
        .collect();
    assert!(
        arrived.len() < EVENTS,
        "the backlog outlasted the kill (a slower receiver would make it)"
    );

    eventually(BOUND, "the survivor owns every partition", || {
        shared_fairly(&db, 1)
    })
    .await;
    let repeated = drained(&receiver, &db).await;
    println!(
        "{} pending and arrived at the kill; arrived twice: {repeated:?}",
        in_flight_at_kill.len()
    );
    assert!(
        repeated.len() <= MAX_IN_FLIGHT,
        "more repeats than the dead node could have had in flight"
    );
    for (id, n) in &repeated {
        assert_eq!(*n, 2, "{id} arrived more than twice");
        assert!(
            in_flight_at_kill.contains(id),
            "{id} arrived twice but was not in flight at the kill"
        );
    }
    db.close().await;
    survivor.terminate();
    api_node.terminate();
    database.remove().await;
}
