//! `serve --role` with the real binary. On PostgreSQL an `api` node serves the API and
//! publishes but never delivers, and a `worker` node delivers what it published and serves only
//! `GET /healthz`. On SQLite any role but `all` is refused at start, naming PostgreSQL.

use std::time::Duration;

use hookrelay::clock::now_ms;
use serde_json::json;
use sqlx::Connection;

use crate::helpers::{ADMIN_KEY, Backend, TestApp, TestReceiver};
use crate::serve::{Api, Served, refused_serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_node_publishes_and_only_a_worker_node_delivers() {
    // The fresh schema, migrated; the binaries then run on it alone.
    let Some(mut schema) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    schema.stop().await;
    let url = schema.database_url().to_owned();
    let node = |role: &'static str| {
        Served::start_with(&url, true, |cmd| {
            cmd.args(["--role", role])
                .env("HOOKRELAY_ADMIN_KEY", ADMIN_KEY);
        })
    };

    let mut api_node = node("api");
    let api = Api::new(&api_node.address());
    api_node.wait_for_line("delivery is off on this node");
    let receiver = TestReceiver::spawn().await;
    let webhook = api
        .post(
            ADMIN_KEY,
            "/v1/webhooks",
            json!({"url": receiver.url("/h")}),
        )
        .await;
    let id = webhook["id"].as_str().unwrap().to_owned();
    api.post(ADMIN_KEY, "/v1/events", json!({"type": "a.b", "data": {}}))
        .await;
    let deliveries = api
        .get(ADMIN_KEY, &format!("/v1/webhooks/{id}/deliveries"))
        .await;
    let delivery = &deliveries["data"][0];
    assert_eq!(delivery["status"], "pending", "{deliveries}");
    assert_eq!(delivery["attempt_count"], 0, "{deliveries}");
    // No wait proves a negative; the row can: a delivering node hands what it publishes to
    // itself, written due only after its lease, while this one left it due now, for others.
    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    let leased: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE next_attempt_at > $1")
            .bind(now_ms())
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(leased, 0, "the api node took nothing to deliver");

    let mut worker_node = node("worker");
    let worker = Api::new(&worker_node.address());
    tokio::time::timeout(Duration::from_secs(15), receiver.wait_for(1))
        .await
        .expect("the worker node delivers what the api node published");
    crate::helpers::eventually(Duration::from_secs(10), "recorded", || async {
        let deliveries = api
            .get(ADMIN_KEY, &format!("/v1/webhooks/{id}/deliveries"))
            .await;
        deliveries["data"][0]["status"] == "succeeded"
    })
    .await;
    let (status, _) = worker
        .call(ADMIN_KEY, reqwest::Method::GET, "/healthz", None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = worker
        .call(ADMIN_KEY, reqwest::Method::GET, "/v1/webhooks", None)
        .await;
    assert_eq!(status, 404, "a worker serves no API");
    worker_node.terminate();
    api_node.terminate();
    schema.teardown().await;
}

#[test]
fn a_role_other_than_all_on_sqlite_is_refused_at_start_naming_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("hookrelay.db").display());
    for role in ["api", "worker"] {
        let printed = refused_serve(&["--database-url", &database, "--role", role]);
        assert!(printed.contains("needs PostgreSQL"), "{printed}");
    }
    let printed = std::process::Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &database,
        ])
        .env("HOOKRELAY_ROLE", "worker")
        .output()
        .unwrap();
    assert!(!printed.status.success());
    assert!(
        String::from_utf8_lossy(&printed.stderr).contains("needs PostgreSQL"),
        "the environment's role is checked as the flag's"
    );
    assert!(
        !dir.path().join("hookrelay.db").exists(),
        "refused before the file is created"
    );
}
