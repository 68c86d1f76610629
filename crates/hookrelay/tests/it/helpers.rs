//! The test harness: `TestApp` runs the real server on port 0 against a fresh SQLite file or a
//! fresh PostgreSQL schema; `TestReceiver` is a real HTTP receiver on 127.0.0.1 whose answers a
//! test can script. `backend_tests!` instantiates each behaviour once per backend.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hookrelay::config::{Config, SecretString};
use hookrelay::{App, telemetry};
use hookrelay_client::{DeliveryFilter, NewEvent, NewTenant, NewWebhook, RetryPolicy};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const ADMIN_KEY: &str = "hra_test_admin_key_0123456789";
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Writes each behaviour once and runs it on both backends, as one test per backend.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(mut app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await else { return };
                    super::$name(&mut app).await;
                    app.teardown().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(mut app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await else { return };
                    super::$name(&mut app).await;
                    app.teardown().await;
                }
            )*
        }
    };
}

/// Where a test's data lives.
enum Database {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        base: String,
        schema: String,
        url: String,
    },
    /// Another app's database, which that app cleans up.
    Borrowed { url: String },
}

/// A fresh database for servers a test runs itself (as child processes): a SQLite file in a
/// temp dir or a PostgreSQL schema, removed by [`ScratchDatabase::remove`].
pub struct ScratchDatabase(Database);

impl ScratchDatabase {
    /// `None` (after a loud SKIPPED) when PostgreSQL is unreachable outside CI.
    pub async fn create(backend: Backend) -> Option<ScratchDatabase> {
        Some(ScratchDatabase(match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("hookrelay.db").display());
                Database::Sqlite { _dir: dir, url }
            }
            Backend::Postgres => fresh_postgres_schema().await?,
        }))
    }

    pub fn url(&self) -> &str {
        self.0.url()
    }

    /// Drops the PostgreSQL schema (the SQLite file goes with its temp dir).
    pub async fn remove(self) {
        self.0.remove().await;
    }
}

impl Database {
    async fn remove(&self) {
        if let Database::Postgres { base, schema, .. } = self
            && let Ok(pool) = sqlx::PgPool::connect(base).await
        {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&pool)
                .await;
        }
    }

    fn url(&self) -> &str {
        match self {
            Database::Sqlite { url, .. }
            | Database::Postgres { url, .. }
            | Database::Borrowed { url } => url,
        }
    }
}

/// A running hookrelay.
pub struct TestApp {
    pub backend: Backend,
    /// The running app's store, for tests that must write what the API would refuse.
    pub store: Option<std::sync::Arc<dyn hookrelay::store::Store>>,
    pub address: SocketAddr,
    /// Where `/metrics` is served without auth, when `metrics_listen` is set.
    pub metrics_address: Option<SocketAddr>,
    pub client: reqwest::Client,
    /// The project's own client, with the admin key, at this app's address.
    api: Option<hookrelay_client::Client>,
    database: Database,
    config: Config,
    token: CancellationToken,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The config every test app starts from: dev mode, port 0, quick polls, retries at the
/// schedule's exact steps (no jitter), so a test can check the wait a step gives, and metrics
/// gauges sampled at every scrape, so a test can poll them.
pub fn test_config(database_url: &str) -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: database_url.to_owned(),
        dev: true,
        admin_key: Some(SecretString::new(ADMIN_KEY)),
        lease_seconds: 35,
        poll_interval_ms: 250,
        shutdown_grace_seconds: 10,
        retry_jitter: 0.0,
        metrics_refresh_ms: 0,
        ..Config::default()
    }
}

impl TestApp {
    /// A fresh app on `backend`; `None` (after a loud SKIPPED) when PostgreSQL is unreachable
    /// outside CI.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// A fresh app whose config `adjust` may change.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        if std::env::var_os("TEST_LOG").is_some() {
            telemetry::init(hookrelay::config::LogFormat::Text);
        }
        let database = ScratchDatabase::create(backend).await?.0;
        let mut config = test_config(database.url());
        adjust(&mut config);
        let mut app = TestApp {
            backend,
            store: None,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_address: None,
            client: reqwest::Client::new(),
            api: None,
            database,
            config,
            token: CancellationToken::new(),
            handle: None,
        };
        app.start().await;
        Some(app)
    }

    /// The database this app runs on.
    pub fn database_url(&self) -> &str {
        self.database.url()
    }

    /// A second node on this app's database (PostgreSQL scale-out), with its own config tweaks.
    pub async fn spawn_peer(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let url = self.database.url().to_owned();
        let mut config = test_config(&url);
        adjust(&mut config);
        let mut peer = TestApp {
            backend: self.backend,
            store: None,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_address: None,
            client: reqwest::Client::new(),
            api: None,
            database: Database::Borrowed { url },
            config,
            token: CancellationToken::new(),
            handle: None,
        };
        peer.start().await;
        peer
    }

    async fn start(&mut self) {
        let app = App::build(self.config.clone()).await.expect("app builds");
        self.address = app.address();
        self.api = Some(self.client_with(ADMIN_KEY));
        self.metrics_address = app.metrics_address();
        self.store = Some(app.store());
        self.token = app.shutdown_token();
        self.handle = Some(tokio::spawn(app.run_until_stopped()));
    }

    /// Stops gracefully, as SIGTERM does, and waits until it has exited.
    pub async fn stop(&mut self) {
        self.token.cancel();
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(Duration::from_secs(30), handle)
                .await
                .expect("server stops within 30 s")
                .expect("server task")
                .expect("server exits cleanly");
        }
    }

    /// Stops, then starts again on the same database (on a new port).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start().await;
    }

    /// Stops and drops the test's PostgreSQL schema.
    pub async fn teardown(mut self) {
        self.stop().await;
        self.database.remove().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// The Rust client with the admin key (the helpers below call the API through it).
    pub fn api(&self) -> &hookrelay_client::Client {
        self.api.as_ref().expect("the app has started")
    }

    /// A Rust client with `key` at this app's address. It never retries: a 5xx is a bug that
    /// a test must see, not ride over.
    pub fn client_with(&self, key: &str) -> hookrelay_client::Client {
        hookrelay_client::Client::builder(&self.url(""), key)
            .retry(RetryPolicy::never())
            .build()
            .expect("client")
    }

    /// A request with `key` (None: no Authorization header); answers status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let resp = req.send().await.expect("request sent");
        let status = StatusCode::from_u16(resp.status().as_u16()).expect("status");
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON body {text:?}"))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, Some(ADMIN_KEY), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(ADMIN_KEY), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PATCH, path, Some(ADMIN_KEY), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, Some(ADMIN_KEY), None)
            .await
    }

    /// Creates a webhook for the default tenant from its JSON; panics on an error.
    pub async fn create_webhook(&self, body: Value) -> Value {
        let webhook: NewWebhook = serde_json::from_value(body).expect("a webhook's JSON");
        let created = self
            .api()
            .create_webhook(&webhook)
            .await
            .unwrap_or_else(|e| panic!("creating a webhook: {e}"));
        serde_json::to_value(created).unwrap()
    }

    /// Creates a webhook for `tenant` from its JSON, sent as it is; panics unless it was
    /// created.
    pub async fn create_tenant_webhook(&self, tenant: &str, body: Value) -> Value {
        let (status, webhook) = self
            .post(&format!("/v1/tenants/{tenant}/webhooks"), body)
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "creating a webhook of {tenant}: {webhook}"
        );
        webhook
    }

    /// Publishes an event from its JSON (the client gives it an id if it has none); panics on
    /// an error.
    pub async fn publish(&self, body: Value) -> Value {
        let event: NewEvent = serde_json::from_value(body).expect("an event's JSON");
        let published = self
            .api()
            .publish(&event)
            .await
            .unwrap_or_else(|e| panic!("publishing: {e}"));
        serde_json::to_value(published).unwrap()
    }

    /// Creates a tenant and mints a key for it; answers the key.
    pub async fn create_tenant(&self, id: &str) -> String {
        let tenant = NewTenant {
            name: Some(id.to_owned()),
            ..NewTenant::new(id)
        };
        self.api()
            .create_tenant(&tenant)
            .await
            .unwrap_or_else(|e| panic!("creating tenant {id}: {e}"));
        let key = self
            .api()
            .create_tenant_key(id)
            .await
            .unwrap_or_else(|e| panic!("minting a key for {id}: {e}"));
        key.key
    }

    /// The first page of the webhook's deliveries, newest first.
    pub async fn deliveries(&self, webhook_id: &str) -> Vec<Value> {
        self.api()
            .list_deliveries(webhook_id, &DeliveryFilter::default())
            .next_page()
            .await
            .unwrap_or_else(|e| panic!("listing {webhook_id}'s deliveries: {e}"))
            .unwrap_or_default()
            .into_iter()
            .map(|d| serde_json::to_value(d).unwrap())
            .collect()
    }

    /// Waits until the webhook `id` has `n` deliveries, all recorded as succeeded; answers them.
    pub async fn wait_all_succeeded(&self, id: &str, n: usize) -> Vec<Value> {
        eventually(
            Duration::from_secs(10),
            "every delivery recorded",
            || async {
                let list = self.deliveries(id).await;
                list.len() == n && list.iter().all(|d| d["status"] == "succeeded")
            },
        )
        .await;
        self.deliveries(id).await
    }

    /// Waits until the webhook's only delivery reaches `status`; answers it with its attempts.
    pub async fn wait_for_delivery(&self, webhook_id: &str, status: &str) -> Value {
        let mut last = None;
        for _ in 0..wait_steps(Duration::from_secs(20)) {
            let mut list = self
                .api()
                .list_deliveries(webhook_id, &DeliveryFilter::default());
            if let Some(d) = list.next().await.unwrap() {
                let detail = self.api().get_delivery(&d.id).await.unwrap();
                if detail.status.as_str() == status {
                    return serde_json::to_value(detail).unwrap();
                }
                last = Some(detail);
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("delivery of {webhook_id} never became {status}; last seen: {last:?}");
    }
}

const POLL: Duration = Duration::from_millis(25);

fn wait_steps(total: Duration) -> u32 {
    (total.as_millis() / POLL.as_millis()) as u32
}

/// Polls `check` until it is true, for at most `within`.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..wait_steps(within) {
        if check().await {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("timed out after {within:?} waiting for: {what}");
}

/// The PostgreSQL server tests use (`HOOKRELAY_TEST_POSTGRES`, or the local default).
pub fn postgres_base() -> String {
    std::env::var("HOOKRELAY_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned())
}

async fn fresh_postgres_schema() -> Option<Database> {
    let base = postgres_base();
    let pool = match sqlx::PgPool::connect(&base).await {
        Ok(pool) => pool,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL at {base} is unreachable under CI=true: {e}");
            }
            eprintln!(
                "\n*** SKIPPED: PostgreSQL test: {base} is unreachable ({e}). Set HOOKRELAY_TEST_POSTGRES. ***\n"
            );
            return None;
        }
    };
    let schema = format!("hr_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    Some(Database::Postgres { base, schema, url })
}

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: Instant,
    /// The HTTP version it came over.
    pub version: axum::http::Version,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    in_flight: std::sync::atomic::AtomicUsize,
    peak_in_flight: std::sync::atomic::AtomicUsize,
    arrived: Notify,
    status: AtomicU16,
    delay_ms: AtomicU64,
    script: Mutex<VecDeque<u16>>,
    headers: Mutex<HeaderMap>,
}

/// A real HTTP receiver on 127.0.0.1: records every request, answers with a scripted status
/// (then the default status) after an optional delay.
pub struct TestReceiver {
    pub address: SocketAddr,
    /// `http://127.0.0.1:<port>`, or `https://localhost:<port>` for an HTTPS receiver (its
    /// certificate names `localhost`).
    base: String,
    state: Arc<ReceiverState>,
    _server: JoinHandle<()>,
}

impl TestReceiver {
    pub async fn spawn() -> TestReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("addr");
        Self::serve(listener, format!("http://{address}"))
    }

    /// A receiver serving `listener` (e.g. TLS, see `https.rs`), reached at `base`.
    pub fn serve<L>(listener: L, base: String) -> TestReceiver
    where
        L: axum::serve::Listener<Addr = SocketAddr>,
    {
        let state = Arc::new(ReceiverState::default());
        state.status.store(200, Ordering::SeqCst);
        let address = listener.local_addr().expect("addr");
        let shared = state.clone();
        let app = axum::Router::new().fallback(
            move |version: axum::http::Version,
                  uri: axum::http::Uri,
                  headers: HeaderMap,
                  body: Bytes| {
                let state = shared.clone();
                async move {
                    state.received.lock().expect("lock").push(Received {
                        at: Instant::now(),
                        version,
                        path: uri.path().to_owned(),
                        headers,
                        body,
                    });
                    state.arrived.notify_waiters();
                    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    state.peak_in_flight.fetch_max(now, Ordering::SeqCst);
                    let delay = state.delay_ms.load(Ordering::SeqCst);
                    if delay > 0 {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                    }
                    let scripted = state.script.lock().expect("lock").pop_front();
                    let status = scripted.unwrap_or_else(|| state.status.load(Ordering::SeqCst));
                    state.in_flight.fetch_sub(1, Ordering::SeqCst);
                    (
                        StatusCode::from_u16(status).expect("status"),
                        state.headers.lock().expect("lock").clone(),
                        format!("answer {status}"),
                    )
                }
            },
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestReceiver {
            address,
            base,
            state,
            _server: server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The status answered once the script is used up.
    pub fn set_status(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    /// A header on every answer from now on (e.g. `Retry-After`).
    pub fn set_header(&self, name: &'static str, value: &str) {
        let value = value.parse().expect("header value");
        self.state.headers.lock().expect("lock").insert(name, value);
    }

    /// Statuses for the next requests, in order.
    pub fn script(&self, statuses: &[u16]) {
        self.state.script.lock().expect("lock").extend(statuses);
    }

    /// Wait this long before answering.
    pub fn set_delay(&self, delay: Duration) {
        self.state
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// The most requests it was answering at once.
    pub fn peak_in_flight(&self) -> usize {
        self.state.peak_in_flight.load(Ordering::SeqCst)
    }

    /// When each request arrived, in order.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.received().iter().map(|r| r.at).collect()
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().expect("lock").clone()
    }

    /// Waits until at least `n` requests arrived (at most 20 s); answers them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let arrived = self.state.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "expected {n} requests, got {}", got.len());
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), arrived).await;
        }
    }
}

/// An address where nothing listens: bound, then released.
pub async fn refused_address() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr");
    drop(listener);
    address
}

/// The default failure policy, for tests that record attempts through the store directly.
pub fn policy() -> hookrelay::store::FailurePolicy {
    hookrelay::store::FailurePolicy {
        disable_after_ms: 72 * 3_600_000,
        operations_tenant: None,
    }
}

/// One connection a host, kept 50 s: a sender for a test's single attempts.
pub fn pooling() -> hookrelay::delivery::Pooling {
    hookrelay::delivery::Pooling {
        per_host: 1,
        max_idle: 16,
        idle_timeout: Duration::from_secs(50),
    }
}
