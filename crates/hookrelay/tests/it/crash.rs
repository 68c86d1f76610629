//! Nothing is lost when `hookrelay serve` dies or stops under load: the real binary runs as a
//! child process, events are published over HTTP (only those answered 202 count), and a
//! receiver counts arrivals by event id. After `kill -9` and a restart on the same database
//! every event arrives, duplicates are only deliveries that were in flight, and what the dead
//! process held is sent at once, not after `lease_seconds`. After SIGTERM the process exits 0
//! with nothing leased, and a restart sends the rest without any duplicate.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{ADMIN_KEY, Backend, ScratchDatabase, TestReceiver, eventually};

/// The shortest lease the config allows: after a crash, anything waiting for a lease would
/// arrive no sooner than this after the restart.
const LEASE_SECONDS: u64 = 35;
/// How soon after a restart everything must have arrived: a correctness bound with a wide
/// margin (a delivery left to its lease would come [`LEASE_SECONDS`] after the kill), not a
/// measurement.
const RESTART_BOUND: Duration = Duration::from_secs(10);
/// Events the publishers try; the server is stopped once [`STOP_AFTER`] were accepted.
const EVENTS: usize = 3_000;
const STOP_AFTER: usize = 1_000;
const PUBLISHERS: usize = 16;

/// A `hookrelay serve` child process and its port (`ordering.rs` kills one too).
pub(crate) struct Node {
    child: Child,
    port: u16,
    /// Every line it printed, drained by threads so the pipes never fill.
    lines: mpsc::Receiver<String>,
}

impl Node {
    /// Starts `hookrelay serve` on `database` (dev mode, so it may deliver to 127.0.0.1) and
    /// waits (bounded) until it listens.
    pub(crate) fn start(database: &str) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hookrelay"))
            .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
            .args(["--database-url", database])
            .env("HOOKRELAY_ADMIN_KEY", ADMIN_KEY)
            .env("HOOKRELAY_LEASE_SECONDS", LEASE_SECONDS.to_string())
            .env("HOOKRELAY_POLL_INTERVAL_MS", "250")
            .env("HOOKRELAY_SHUTDOWN_GRACE_SECONDS", "10")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hookrelay serve starts");
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let line = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains("hookrelay is listening") => break line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("hookrelay never listened; output:\n{}", seen.join("\n")),
            }
        };
        let address = line.split("address=").nth(1).unwrap();
        let port = address.split_whitespace().next().unwrap();
        let port = port.rsplit(':').next().unwrap().parse().unwrap();
        Node { child, port, lines }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `kill -9`.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, then waits (bounded) for the exit.
    async fn terminate(mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit 30 s after SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether it printed a line containing `needle` so far.
    fn printed(&self, needle: &str) -> bool {
        self.lines.try_iter().any(|l| l.contains(needle))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes events `ev00000`, `ev00001`, … from several tasks until [`EVENTS`] or until the
/// server stops answering; keeps the ids answered 202.
struct Load {
    accepted: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(node: &Node) -> Load {
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicBool::new(false));
        let client = reqwest::Client::new();
        let tasks = (0..PUBLISHERS)
            .map(|_| {
                let (accepted, next, failed) = (accepted.clone(), next.clone(), failed.clone());
                let (client, url) = (client.clone(), node.url("/v1/events"));
                tokio::spawn(async move {
                    while !failed.load(Ordering::SeqCst) {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        if n >= EVENTS {
                            return;
                        }
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
                            // Stopped or stopping: whatever it answered, the event may or may
                            // not have been written, so it is not counted.
                            _ => failed.store(true, Ordering::SeqCst),
                        }
                    }
                })
            })
            .collect();
        Load { accepted, tasks }
    }

    fn accepted(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }

    /// Waits for the publishers to end (the server is gone); the ids answered 202.
    async fn finish(self) -> HashSet<String> {
        for task in self.tasks {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("publishers end once the server is gone")
                .unwrap();
        }
        self.accepted.lock().unwrap().iter().cloned().collect()
    }
}

/// Pending deliveries as the database holds them: their events' ids, and how many are due
/// only later than `now` (leased in their row, or waiting for a retry).
async fn pending(database: &str, now_ms: i64) -> (Vec<String>, i64) {
    let ids = "SELECT event_id FROM deliveries WHERE status = 'pending'";
    let later = "SELECT count(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at > $1";
    if database.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(database).await.unwrap();
        let found = (
            sqlx::query_scalar(ids).fetch_all(&pool).await.unwrap(),
            sqlx::query_scalar(later)
                .bind(now_ms)
                .fetch_one(&pool)
                .await
                .unwrap(),
        );
        pool.close().await;
        found
    } else {
        let pool = sqlx::PgPool::connect(database).await.unwrap();
        let found = (
            sqlx::query_scalar(ids).fetch_all(&pool).await.unwrap(),
            sqlx::query_scalar(later)
                .bind(now_ms)
                .fetch_one(&pool)
                .await
                .unwrap(),
        );
        pool.close().await;
        found
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// How often each event arrived.
pub(crate) fn arrivals(receiver: &TestReceiver) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in receiver.received() {
        *counts.entry(r.header("webhook-id").to_owned()).or_insert(0) += 1;
    }
    counts
}

/// Waits until the receiver has seen no new request for a while (at most a few seconds).
async fn settle(receiver: &TestReceiver) {
    let quiet = Duration::from_millis(500);
    let mut seen = receiver.received().len();
    for _ in 0..20 {
        tokio::time::sleep(quiet).await;
        let now = receiver.received().len();
        if now == seen {
            return;
        }
        seen = now;
    }
}

/// A receiver slow enough that many attempts are in flight at any moment, a node publishing to
/// it, and the load started.
async fn loaded_node(database: &ScratchDatabase) -> (TestReceiver, Node, Load) {
    let receiver = TestReceiver::spawn().await;
    receiver.set_delay(Duration::from_millis(20));
    let node = Node::start(database.url());
    let created = reqwest::Client::new()
        .post(node.url("/v1/webhooks"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body(json!({"url": receiver.url("/h")}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let load = Load::start(&node);
    // Stopped mid-load: polled, bounded.
    eventually(
        Duration::from_secs(30),
        "a third of the events accepted",
        || {
            let n = load.accepted();
            async move { n >= STOP_AFTER }
        },
    )
    .await;
    (receiver, node, load)
}

/// Waits (bounded by `within`) until every accepted event has arrived; answers when the last
/// one did.
pub(crate) async fn wait_for_all(
    receiver: &TestReceiver,
    accepted: &HashSet<String>,
    within: Duration,
) {
    eventually(within, "every accepted event arrives", || {
        let counts = arrivals(receiver);
        let all = accepted.iter().all(|id| counts.contains_key(id));
        async move { all }
    })
    .await;
}

async fn a_killed_server_restarted_sends_everything_at_once(backend: Backend) {
    let Some(database) = ScratchDatabase::create(backend).await else {
        return;
    };
    let (receiver, node, load) = loaded_node(&database).await;
    node.kill();
    let accepted = load.finish().await;
    // Requests the dead process had written before the kill may still sit in the receiver's
    // sockets; on a loaded machine it reads them later. Wait until it has read them all, or
    // they would count as sent twice without having been in flight.
    settle(&receiver).await;

    // What the dead process had sent but not recorded: pending, yet already arrived. Only
    // these may arrive twice.
    let (pending_ids, due_later) = pending(database.url(), now_ms()).await;
    let restarted_at = Instant::now();
    let before_restart = arrivals(&receiver);
    let in_flight: HashSet<&String> = pending_ids
        .iter()
        .filter(|id| before_restart.contains_key(*id))
        .collect();

    let node = Node::start(database.url());
    // Well under the lease: anything left to its lease would arrive only after a full one.
    let within = RESTART_BOUND;
    wait_for_all(&receiver, &accepted, within).await;
    // Every delivery pending at the kill is sent after the restart, those in flight again.
    let resent = |receiver: &TestReceiver| -> HashSet<String> {
        (receiver.received().iter())
            .filter(|r| r.at >= restarted_at)
            .map(|r| r.header("webhook-id").to_owned())
            .collect()
    };
    eventually(within, "every pending delivery is sent again", || {
        let resent = resent(&receiver);
        let all = pending_ids.iter().all(|id| resent.contains(id));
        async move { all }
    })
    .await;
    let last = receiver.arrivals().into_iter().max().unwrap();
    let counts = arrivals(&receiver);
    let duplicated: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    eprintln!(
        "{backend:?}: {} accepted, {} pending at the kill ({due_later} due later, {} in flight), \
         {} duplicated; restart to last arrival {:?}",
        accepted.len(),
        pending_ids.len(),
        in_flight.len(),
        duplicated.len(),
        last.saturating_duration_since(restarted_at),
    );
    for id in &duplicated {
        assert_eq!(counts[*id], 2, "{id} arrived more than twice");
        assert!(
            in_flight.contains(id),
            "{id} arrived twice but was not in flight"
        );
    }
    assert!(
        last.saturating_duration_since(restarted_at) < RESTART_BOUND,
        "the last redelivery came well before a lease would have ended"
    );
    assert_eq!(node.terminate().await.code(), Some(0));
    database.remove().await;
}

async fn a_server_stopped_under_load_finishes_its_attempts_and_loses_nothing(backend: Backend) {
    let Some(database) = ScratchDatabase::create(backend).await else {
        return;
    };
    let (receiver, node, load) = loaded_node(&database).await;
    let exit = node.terminate().await;
    assert_eq!(exit.code(), Some(0), "a clean exit: {exit}");
    let accepted = load.finish().await;

    let (pending_ids, due_later) = pending(database.url(), now_ms()).await;
    assert_eq!(
        due_later, 0,
        "nothing is left leased: every attempt finished and was recorded, the rest is due"
    );
    let before_restart = arrivals(&receiver);
    assert!(
        pending_ids
            .iter()
            .all(|id| !before_restart.contains_key(id)),
        "whatever arrived was recorded"
    );

    let node = Node::start(database.url());
    wait_for_all(&receiver, &accepted, RESTART_BOUND).await;
    let counts = arrivals(&receiver);
    assert!(
        counts.values().all(|n| *n == 1),
        "no duplicates: {:?}",
        counts.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    assert!(!node.printed("previous run left deliveries unfinished"));
    assert_eq!(node.terminate().await.code(), Some(0));
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_killed_server_restarted_sends_everything_at_once() {
    a_killed_server_restarted_sends_everything_at_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_killed_server_restarted_sends_everything_at_once() {
    a_killed_server_restarted_sends_everything_at_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_server_stopped_under_load_finishes_its_attempts_and_loses_nothing() {
    a_server_stopped_under_load_finishes_its_attempts_and_loses_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_server_stopped_under_load_finishes_its_attempts_and_loses_nothing() {
    a_server_stopped_under_load_finishes_its_attempts_and_loses_nothing(Backend::Postgres).await;
}
