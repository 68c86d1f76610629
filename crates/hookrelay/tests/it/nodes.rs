//! Several nodes on one PostgreSQL database lose nothing when a worker dies: one `api` node and
//! two `worker` nodes run as real processes; while a publisher keeps publishing to the api
//! node, one worker is killed with `kill -9`. The other takes over (the dead one's partitions of
//! the queue at its next check, `store/postgres/membership.rs`: what it held in memory is due
//! again at once; a publish hand-off's lease written into a row would wait out `lease_seconds`),
//! a third worker started under the same load makes attempts too, and a receiver counting
//! arrivals by event id sees every accepted event, twice at most for what the dead worker had in
//! flight.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cluster::{connect, metric, pending, start_node, wait_drained};
use crate::crash::{arrivals, wait_for_all};
use crate::helpers::{ADMIN_KEY, Backend, ScratchDatabase, TestReceiver, eventually};
use crate::serve::Api;

/// The shortest lease the config allows (it outlasts the longest attempt timeout): the longest
/// anything the killed worker leased in a row could wait after the kill.
const LEASE_SECONDS: u64 = 35;
/// Each worker's attempts in flight and claim size: at most this many deliveries were sent by
/// the killed worker and never recorded, so at most this many may arrive twice.
const MAX_IN_FLIGHT: usize = 16;
/// Publishing tasks, each pausing [`PACE`] between publishes: a steady load of a few dozen
/// events a second, a couple of thousand over the test (most of it spent waiting out the
/// dead worker's leases).
const PUBLISHERS: usize = 3;
const PACE: Duration = Duration::from_millis(50);
/// Events accepted before the kill.
const KILL_AFTER: usize = 300;
/// Attempts each worker makes once the third one has joined, under load.
const SHARE: f64 = 20.0;
/// How long the dead worker's deliveries may take to arrive after the kill: a lease (workers
/// here publish nothing, so none of theirs is written in a row, but the bound does not rely on
/// it), plus a wide margin. A bound, not a measurement.
const TAKEOVER_BOUND: Duration = Duration::from_secs(LEASE_SECONDS + 25);
/// How long anything else may take: a bound with a wide margin.
const BOUND: Duration = Duration::from_secs(20);

/// Publishes events `ev00000`, `ev00001`, … to the api node, paced, until stopped; keeps the
/// ids answered 202. The api node stays up, so any other answer is a failure.
struct Load {
    accepted: Arc<Mutex<Vec<String>>>,
    refused: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(api_address: &str) -> Load {
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicUsize::new(0));
        let client = reqwest::Client::new();
        let url = format!("http://{api_address}/v1/events");
        let tasks = (0..PUBLISHERS)
            .map(|_| {
                let (accepted, refused) = (accepted.clone(), refused.clone());
                let (stop, next) = (stop.clone(), next.clone());
                let (client, url) = (client.clone(), url.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        let id = format!("ev{n:05}");
                        let sent = client
                            .post(&url)
                            .bearer_auth(ADMIN_KEY)
                            .header("content-type", "application/json")
                            .body(json!({"id": id, "type": "a.b", "data": {"n": n}}).to_string())
                            .send()
                            .await;
                        match sent {
                            Ok(r) if r.status().as_u16() == 202 => {
                                accepted.lock().unwrap().push(id);
                            }
                            other => refused.lock().unwrap().push(format!("{id}: {other:?}")),
                        }
                        tokio::time::sleep(PACE).await;
                    }
                })
            })
            .collect();
        Load {
            accepted,
            refused,
            stop,
            tasks,
        }
    }

    /// The ids accepted so far.
    fn accepted(&self) -> HashSet<String> {
        self.accepted.lock().unwrap().iter().cloned().collect()
    }

    /// Whether the publishers still run and every publish so far was accepted.
    fn running(&self) -> bool {
        let refused = self.refused.lock().unwrap();
        assert!(refused.is_empty(), "publishes refused: {refused:?}");
        !self.tasks.iter().any(tokio::task::JoinHandle::is_finished)
    }

    /// Stops the publishers; the ids answered 202.
    async fn finish(self) -> HashSet<String> {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            tokio::time::timeout(BOUND, task)
                .await
                .expect("publishers stop")
                .unwrap();
        }
        let refused = self.refused.lock().unwrap();
        assert!(refused.is_empty(), "publishes refused: {refused:?}");
        self.accepted.lock().unwrap().iter().cloned().collect()
    }
}

/// The attempts a node made, by its `/metrics`.
async fn attempts(node: &Api) -> f64 {
    node_metric(node, "hookrelay_attempts_total").await
}

/// The sum of a metric's series on a node's `/metrics`.
async fn node_metric(node: &Api, name: &str) -> f64 {
    metric(&node.client, format!("{}/metrics", node.base), name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_taken_over_and_a_new_worker_shares_the_load() {
    let Some(database) = ScratchDatabase::create(Backend::Postgres).await else {
        return;
    };
    let url = database.url();
    // The api node first: it migrates the fresh schema before any worker starts.
    let (api_node, api_address) = start_node(url, "api", LEASE_SECONDS, MAX_IN_FLIGHT);
    let receiver = TestReceiver::spawn().await;
    // Slow enough that each worker has attempts in flight at any moment.
    receiver.set_delay(Duration::from_millis(250));
    Api::new(&api_address)
        .post(
            ADMIN_KEY,
            "/v1/webhooks",
            json!({"url": receiver.url("/h")}),
        )
        .await;
    let db = connect(url).await;
    let (doomed, doomed_address) = start_node(url, "worker", LEASE_SECONDS, MAX_IN_FLIGHT);
    let (survivor, survivor_address) = start_node(url, "worker", LEASE_SECONDS, MAX_IN_FLIGHT);
    let (doomed_api, survivor_api) = (Api::new(&doomed_address), Api::new(&survivor_address));

    let load = Load::start(&api_address);
    eventually(
        BOUND,
        "both workers deliver, the doomed one has attempts in flight",
        || async {
            load.accepted().len() >= KILL_AFTER
                && attempts(&survivor_api).await > 0.0
                && node_metric(&doomed_api, "hookrelay_attempts_in_flight").await > 0.0
        },
    )
    .await;
    doomed.kill();
    let killed_at = Instant::now();
    let before_kill = load.accepted();
    // What the dead worker sent but never recorded is pending yet arrived; only that may arrive
    // twice. (The survivor's own attempts in flight are in this set too: a bound, not a count.)
    let arrived = arrivals(&receiver);
    let pending_at_kill = pending(&db).await;
    let in_flight: HashSet<String> = (pending_at_kill.iter())
        .filter(|id| arrived.contains_key(*id))
        .cloned()
        .collect();

    // The survivor takes over: everything accepted before the kill arrives, and every delivery
    // pending at the kill is finished, those the dead worker held once its partitions are taken.
    wait_for_all(&receiver, &before_kill, TAKEOVER_BOUND).await;
    eventually(
        TAKEOVER_BOUND,
        "every delivery pending at the kill is finished",
        || async { pending(&db).await.is_disjoint(&pending_at_kill) },
    )
    .await;
    let takeover = killed_at.elapsed();
    assert!(load.running(), "the load still runs");

    // A third worker joins under load and makes attempts.
    let (newcomer, newcomer_address) = start_node(url, "worker", LEASE_SECONDS, MAX_IN_FLIGHT);
    let newcomer_api = Api::new(&newcomer_address);
    let survivor_before = attempts(&survivor_api).await;
    eventually(BOUND, "both workers make attempts", || async {
        attempts(&newcomer_api).await >= SHARE
            && attempts(&survivor_api).await >= survivor_before + SHARE
    })
    .await;
    assert!(load.running(), "the load still runs");
    let accepted = load.finish().await;
    wait_drained(&receiver, &accepted, &db, BOUND).await;

    let counts = arrivals(&receiver);
    let duplicated: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    let (survivor_attempts, newcomer_attempts) =
        (attempts(&survivor_api).await, attempts(&newcomer_api).await);
    println!(
        "{} accepted ({} before the kill), {} pending and arrived at the kill, {} duplicated \
         {duplicated:?}; takeover {takeover:?}; attempts: survivor {survivor_attempts} \
         ({survivor_before} when the newcomer started), newcomer {newcomer_attempts}",
        accepted.len(),
        before_kill.len(),
        in_flight.len(),
        duplicated.len(),
    );
    assert!(
        duplicated.len() <= MAX_IN_FLIGHT,
        "more duplicates than the dead worker could have had in flight"
    );
    for id in &duplicated {
        assert_eq!(counts[*id], 2, "{id} arrived more than twice");
        assert!(
            in_flight.contains(*id),
            "{id} arrived twice but was not in flight at the kill"
        );
    }
    assert!(
        counts.keys().all(|id| accepted.contains(id)),
        "only accepted events arrive"
    );

    db.close().await;
    newcomer.terminate();
    survivor.terminate();
    api_node.terminate();
    database.remove().await;
}
