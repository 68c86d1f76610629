//! Probes and metrics: `/healthz` says the process is up; `/readyz` says whether the database
//! can serve this build (503 with the error JSON when it cannot); `/metrics` counts what this
//! node published and delivered. Each app has a registry of its own, so the values checked
//! are exact although other tests' apps run in the same process.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::watch;

use crate::backend_tests;
use crate::helpers::{ADMIN_KEY, Backend, TestApp, TestReceiver, eventually, refused_address};

backend_tests!(
    healthz_and_readyz_answer_200_on_a_migrated_database,
    readyz_answers_503_when_the_database_has_a_migration_this_build_does_not_know,
    readyz_answers_503_while_a_migration_is_pending,
    metrics_count_what_this_node_published_and_attempted_by_result,
    queue_gauges_count_due_deliveries_that_no_node_sends,
    a_busy_host_shows_as_in_flight_and_backlogged_until_it_answers,
    queue_gauges_are_read_at_most_once_per_refresh_interval,
    metrics_need_the_admin_key_unless_the_setting_opens_them,
    metrics_listen_serves_metrics_without_auth_and_not_on_the_api,
);

/// The `/metrics` text with `key` (None: no Authorization header).
async fn scrape(app: &TestApp, key: Option<&str>) -> (StatusCode, String) {
    let mut req = app.client.get(app.url("/metrics"));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let resp = req.send().await.unwrap();
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    (status, resp.text().await.unwrap())
}

/// The value of the sample `series` (name and labels, as rendered), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .find_map(|v| v.trim().parse().ok())
}

/// Scrapes (with the admin key) until every series has its expected value; panics naming the
/// ones that differ, with the last text, after 20 s.
async fn scrape_until(app: &TestApp, expected: &[(&str, f64)]) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, text) = scrape(app, Some(ADMIN_KEY)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let wrong: Vec<String> = expected
            .iter()
            .filter(|(series, value)| sample(&text, series) != Some(*value))
            .map(|(series, value)| format!("{series}: {:?}, not {value}", sample(&text, series)))
            .collect();
        if wrong.is_empty() {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "metrics never matched: {wrong:?}\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Runs `sql` on the app's database, as something other than hookrelay would.
async fn run_sql(app: &TestApp, sql: &str) {
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(app.database_url()).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

async fn healthz_and_readyz_answer_200_on_a_migrated_database(app: &mut TestApp) {
    let (status, body) = app.call(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    let (status, body) = app.call(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
}

async fn readyz_answers_503_when_the_database_has_a_migration_this_build_does_not_know(
    app: &mut TestApp,
) {
    // As if a newer hookrelay had migrated the database.
    run_sql(
        app,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         SELECT 99990101000000, 'from the future', success, checksum, 0 FROM _sqlx_migrations \
         WHERE version = (SELECT MIN(version) FROM _sqlx_migrations)",
    )
    .await;
    let (status, body) = app.call(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "not_ready");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("99990101000000"), "{message}");
    // Liveness does not depend on the database.
    let (status, _) = app.call(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

async fn readyz_answers_503_while_a_migration_is_pending(app: &mut TestApp) {
    // As if the database had been migrated by an older hookrelay.
    run_sql(
        app,
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .await;
    let (status, body) = app.call(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "not_ready");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("is not applied"), "{message}");
}

/// PostgreSQL only: its schema can be taken away under the running app, which is what an
/// unreachable or wiped database looks like to a query. An SQLite file cannot be taken away
/// from under open connections (they keep the deleted file) nor made unreadable to root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_when_the_database_cannot_be_queried() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    run_sql(
        &app,
        "DO $$ BEGIN EXECUTE 'DROP SCHEMA ' || current_schema() || ' CASCADE'; END $$",
    )
    .await;
    let (status, body) = app.call(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "not_ready");
    assert_eq!(body["error"]["message"], "the database cannot be queried");
    let (status, _) = app.call(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    app.teardown().await;
}

async fn metrics_count_what_this_node_published_and_attempted_by_result(app: &mut TestApp) {
    let ok = TestReceiver::spawn().await;
    let failing = TestReceiver::spawn().await;
    failing.set_status(500);
    let gone = TestReceiver::spawn().await;
    gone.set_status(410);
    let nobody = refused_address().await;
    app.create_webhook(json!({"url": ok.url("/h")})).await;
    let retry_later = json!([3600]);
    app.create_webhook(json!({"url": failing.url("/h"), "retry_schedule": retry_later}))
        .await;
    app.create_webhook(json!({"url": format!("http://{nobody}/h"), "retry_schedule": retry_later}))
        .await;
    app.create_webhook(json!({"url": gone.url("/h")})).await;
    let event = json!({"id": "metered-1", "type": "a.b", "data": {}});
    app.publish(event.clone()).await;
    let (status, body) = app.post("/v1/events", event).await;
    assert_eq!(status, StatusCode::OK, "a repeat: {body}");

    let text = scrape_until(
        app,
        &[
            ("hookrelay_events_published_total", 1.0),
            ("hookrelay_attempts_total{result=\"2xx\"}", 1.0),
            ("hookrelay_attempts_total{result=\"4xx\"}", 1.0),
            ("hookrelay_attempts_total{result=\"5xx\"}", 1.0),
            ("hookrelay_attempts_total{result=\"connect\"}", 1.0),
            ("hookrelay_attempts_total{result=\"timeout\"}", 0.0),
            (
                "hookrelay_deliveries_finished_total{status=\"succeeded\"}",
                1.0,
            ),
            // 410 Gone fails the delivery at once and disables its webhook.
            (
                "hookrelay_deliveries_finished_total{status=\"failed\"}",
                1.0,
            ),
            ("hookrelay_webhooks_disabled_total{reason=\"gone\"}", 1.0),
            ("hookrelay_webhooks_disabled_total{reason=\"failing\"}", 0.0),
            ("hookrelay_attempt_duration_seconds_count", 4.0),
            (
                "hookrelay_attempt_duration_seconds_bucket{le=\"+Inf\"}",
                4.0,
            ),
            ("hookrelay_attempts_in_flight", 0.0),
            // The 5xx and the refused connection wait an hour for their retry.
            ("hookrelay_queue_due", 0.0),
            ("hookrelay_queue_scheduled", 2.0),
            ("hookrelay_queue_oldest_due_seconds", 0.0),
            ("hookrelay_hosts_backlogged", 0.0),
            ("hookrelay_node_role{role=\"all\"}", 1.0),
        ],
    )
    .await;
    let build = format!(
        "hookrelay_build_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(sample(&text, &build), Some(1.0), "{text}");
    // Every attempt to a receiver on this machine takes well under 30 s.
    assert_eq!(
        sample(
            &text,
            "hookrelay_attempt_duration_seconds_bucket{le=\"30\"}"
        ),
        Some(4.0),
        "{text}"
    );
    assert!(
        text.contains("# TYPE hookrelay_attempt_duration_seconds histogram"),
        "{text}"
    );
}

async fn queue_gauges_count_due_deliveries_that_no_node_sends(app: &mut TestApp) {
    app.stop().await;
    let mut api = app.spawn_peer(|c| c.deliver = false).await;
    let receiver = TestReceiver::spawn().await;
    api.create_webhook(json!({"url": receiver.url("/h")})).await;
    for _ in 0..2 {
        api.publish(json!({"type": "a.b", "data": {}})).await;
    }
    let text = scrape_until(
        &api,
        &[
            ("hookrelay_events_published_total", 2.0),
            ("hookrelay_queue_due", 2.0),
            ("hookrelay_queue_scheduled", 0.0),
            ("hookrelay_attempts_total{result=\"2xx\"}", 0.0),
            ("hookrelay_node_role{role=\"api\"}", 1.0),
        ],
    )
    .await;
    let oldest = sample(&text, "hookrelay_queue_oldest_due_seconds").unwrap();
    assert!((0.0..60.0).contains(&oldest), "{text}");
    api.stop().await;
}

/// A receiver that takes requests and answers 200 only once released.
struct HeldReceiver {
    address: SocketAddr,
    arrived: Arc<AtomicUsize>,
    release: watch::Sender<bool>,
}

impl HeldReceiver {
    async fn spawn() -> HeldReceiver {
        let (release, released) = watch::channel(false);
        let arrived = Arc::new(AtomicUsize::new(0));
        let counted = arrived.clone();
        let app = axum::Router::new().fallback(move || {
            let mut released = released.clone();
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = released.wait_for(|r| *r).await;
                "ok"
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HeldReceiver {
            address,
            arrived,
            release,
        }
    }
}

async fn a_busy_host_shows_as_in_flight_and_backlogged_until_it_answers(app: &mut TestApp) {
    app.stop().await;
    let mut node = app.spawn_peer(|c| c.per_host_connections = 1).await;
    let receiver = HeldReceiver::spawn().await;
    // The longest timeout: the held request must not time out while a loaded machine scrapes.
    node.create_webhook(json!({
        "url": format!("http://{}/h", receiver.address),
        "timeout_seconds": 30,
    }))
    .await;
    for _ in 0..3 {
        node.publish(json!({"type": "a.b", "data": {}})).await;
    }
    eventually(
        Duration::from_secs(10),
        "the first request to arrive",
        || {
            let arrived = receiver.arrived.clone();
            async move { arrived.load(Ordering::SeqCst) == 1 }
        },
    )
    .await;
    // One connection to the host: one attempt is sent and the others wait in the host's queue
    // (one or two of them, depending on whether a claim has taken the third yet).
    let text = scrape_until(
        &node,
        &[
            ("hookrelay_attempts_in_flight", 1.0),
            ("hookrelay_hosts_backlogged", 1.0),
        ],
    )
    .await;
    let longest = sample(&text, "hookrelay_host_queue_longest");
    assert!(
        matches!(longest, Some(n) if (1.0..=2.0).contains(&n)),
        "{longest:?}\n{text}"
    );
    receiver.release.send(true).unwrap();
    scrape_until(
        &node,
        &[
            ("hookrelay_attempts_total{result=\"2xx\"}", 3.0),
            ("hookrelay_attempts_in_flight", 0.0),
            ("hookrelay_hosts_backlogged", 0.0),
            ("hookrelay_host_queue_longest", 0.0),
            ("hookrelay_queue_due", 0.0),
        ],
    )
    .await;
    node.stop().await;
}

async fn queue_gauges_are_read_at_most_once_per_refresh_interval(app: &mut TestApp) {
    app.stop().await;
    let mut api = app
        .spawn_peer(|c| {
            c.deliver = false;
            c.metrics_refresh_ms = 3_600_000;
        })
        .await;
    scrape_until(&api, &[("hookrelay_queue_due", 0.0)]).await;
    let receiver = TestReceiver::spawn().await;
    api.create_webhook(json!({"url": receiver.url("/h")})).await;
    api.publish(json!({"type": "a.b", "data": {}})).await;
    // Counters are live; the queue gauges keep the values read within the hour.
    scrape_until(
        &api,
        &[
            ("hookrelay_events_published_total", 1.0),
            ("hookrelay_queue_due", 0.0),
        ],
    )
    .await;
    api.stop().await;
}

async fn metrics_need_the_admin_key_unless_the_setting_opens_them(app: &mut TestApp) {
    let (status, _) = scrape(app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = scrape(app, Some("not-the-admin-key-at-all")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let tenant_key = app.create_tenant("acme").await;
    let (status, _) = scrape(app, Some(&tenant_key)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, text) = scrape(app, Some(ADMIN_KEY)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("hookrelay_build_info"), "{text}");

    // One process per SQLite file: the open node takes the database over.
    app.stop().await;
    let mut open = app
        .spawn_peer(|c| {
            c.deliver = false;
            c.metrics_require_admin_key = false;
        })
        .await;
    let (status, text) = scrape(&open, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("hookrelay_build_info"), "{text}");
    open.stop().await;
}

async fn metrics_listen_serves_metrics_without_auth_and_not_on_the_api(app: &mut TestApp) {
    app.stop().await;
    let mut node = app
        .spawn_peer(|c| c.metrics_listen = Some(([127, 0, 0, 1], 0).into()))
        .await;
    let address = node.metrics_address.expect("a metrics listener");
    assert_ne!(address, node.address);
    let resp = node
        .client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(resp.text().await.unwrap().contains("hookrelay_build_info"));
    for key in [None, Some(ADMIN_KEY)] {
        let (status, _) = scrape(&node, key).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    node.stop().await;
}
