//! What the tests of several nodes on one PostgreSQL database (`nodes.rs`, `partitions.rs`)
//! share: `hookrelay serve --role` processes, a node's metrics, the queue as the database
//! holds it, and the wait until everything accepted has arrived and nothing is left pending.

use std::collections::HashSet;
use std::time::Duration;

use crate::crash::wait_for_all;
use crate::helpers::{ADMIN_KEY, TestReceiver, eventually};
use crate::serve::Served;

/// Starts `hookrelay serve --role <role>` on `database` with the admin key, leases of
/// `lease_seconds`, `max_in_flight` attempts in flight (also the claim size) and quick polls;
/// answers the process and its address.
pub(crate) fn start_node(
    database: &str,
    role: &str,
    lease_seconds: u64,
    max_in_flight: usize,
) -> (Served, String) {
    let mut node = Served::start_with(database, true, |cmd| {
        cmd.args(["--role", role])
            .env("HOOKRELAY_ADMIN_KEY", ADMIN_KEY)
            .env("HOOKRELAY_LEASE_SECONDS", lease_seconds.to_string())
            .env("HOOKRELAY_MAX_IN_FLIGHT", max_in_flight.to_string())
            .env("HOOKRELAY_CLAIM_BATCH", max_in_flight.to_string())
            .env("HOOKRELAY_POLL_INTERVAL_MS", "250")
            .env("HOOKRELAY_SHUTDOWN_GRACE_SECONDS", "10");
    });
    let address = node.address();
    (node, address)
}

/// The sum of a metric's series (labelled or not) on the `/metrics` page at `url`, read with
/// the admin key.
pub(crate) async fn metric(client: &reqwest::Client, url: String, name: &str) -> f64 {
    let text = client
        .get(url)
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// One connection to the test's database, opened once: the tests poll the queue often.
pub(crate) async fn connect(database: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(database)
        .await
        .unwrap()
}

/// The events of the deliveries still pending.
pub(crate) async fn pending(db: &sqlx::PgPool) -> HashSet<String> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT event_id FROM deliveries WHERE status = 'pending'")
            .fetch_all(db)
            .await
            .unwrap();
    ids.into_iter().collect()
}

/// Waits (each step bounded by `within`) until every event of `accepted` has arrived and no
/// delivery is left pending.
pub(crate) async fn wait_drained(
    receiver: &TestReceiver,
    accepted: &HashSet<String>,
    db: &sqlx::PgPool,
    within: Duration,
) {
    wait_for_all(receiver, accepted, within).await;
    eventually(within, "no delivery is left pending", || async {
        pending(db).await.is_empty()
    })
    .await;
}
