//! The application: `App::build(Config)` connects and migrates the store, settles the admin key,
//! binds the listener and prepares the delivery worker; `run_until_stopped` serves until the
//! shutdown token is cancelled, then drains. `main` and the tests build it the same way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::api::schemas::Catalog;
use crate::api::{self, AppState, MetricsAccess, StateInner};
use crate::config::{Config, Role};
use crate::delivery::dns::DnsSettings;
use crate::delivery::guard::{AddressPolicy, Guard};
use crate::delivery::recorder::RecorderSettings;
use crate::delivery::{Pooling, Sender, Worker, WorkerSettings, tls};
use crate::ids::KeyId;
use crate::measure::{Exporter, Metrics};
use crate::model::UrlPolicy;
use crate::model::host_override::HostOverrides;
use crate::notify::email::Mailer;
use crate::publisher::Publisher;
use crate::store::{self, DeliveryLock, FailurePolicy, Store};
use crate::{keys, operations};

/// A built, bound, not yet running hookrelay.
pub struct App {
    listener: TcpListener,
    /// The `metrics_listen` listener, when `/metrics` has an address of its own.
    metrics_listener: Option<TcpListener>,
    /// Renders `/metrics` (on `listen` through the router, or on `metrics_listen`).
    exporter: Arc<Exporter>,
    router: axum::Router,
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    worker: Worker,
    /// What this node does.
    role: Role,
    /// On SQLite, the file's lock, held until the process stops whatever its role: its leases
    /// and failure clocks live in this process's memory, so a second process on the file is
    /// refused at start. On PostgreSQL it holds nothing.
    delivery_lock: DeliveryLock,
    shutdown: CancellationToken,
    generated_admin_key: Option<String>,
    mailer: Option<Mailer>,
    /// Days finished deliveries are kept (the retention job runs where the worker does).
    retention_days: u32,
}

impl App {
    /// Connects, migrates, binds. Fails with a message naming what is wrong.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        // Before connecting: refused, it must not create an SQLite file.
        config.check_role()?;
        let tls = delivery_tls(&config)?;
        let store = store::connect(&config.database_url, &pool_settings(&config))
            .await
            .with_context(|| format!("connecting to {}", redact(&config.database_url)))?;
        // Before migrating: a second process on an SQLite file must change nothing in it.
        let delivery_lock = store.lock_delivery()?;
        store.migrate().await.context("migrating the database")?;
        let role = config.effective_role();
        if role.delivers() {
            // Before the worker runs, so this run has taken nothing yet: a previous run's
            // deliveries written leased (the publish hand-off's) are sent at once, not after
            // `lease_seconds`.
            store
                .resume_abandoned(Duration::from_secs(config.lease_seconds))
                .await
                .context("resuming unfinished deliveries")?;
        }
        let (admin_key_hash, generated_admin_key) = settle_admin_key(&config, &*store).await?;
        let mailer = Mailer::from_config(&config)?;

        let wake = Arc::new(Notify::new());
        let url_policy = if config.dev {
            UrlPolicy::Development
        } else {
            UrlPolicy::Production
        };
        let operations = operations::settle(&config, &*store, url_policy).await?;
        let sender = Sender::new(
            delivery_guard(&config)?,
            &tls,
            Pooling {
                per_host: config.per_host_connections,
                max_idle: config.max_idle_connections,
                idle_timeout: Duration::from_secs(config.connection_idle_timeout_seconds),
            },
        )?;
        let metrics = Arc::new(Metrics::new(role.as_str()));
        let settings = WorkerSettings {
            max_in_flight: config.max_in_flight,
            per_webhook_concurrency: config.per_webhook_concurrency,
            per_host_connections: config.per_host_connections,
            claim_batch: config.claim_batch,
            lease: Duration::from_secs(config.lease_seconds),
            poll_interval: Duration::from_millis(config.poll_interval_ms),
            shutdown_grace: Duration::from_secs(config.shutdown_grace_seconds),
            recorder: RecorderSettings {
                failures: FailurePolicy {
                    disable_after_ms: i64::try_from(config.disable_after_seconds)
                        .unwrap_or(i64::MAX / 2_000)
                        .saturating_mul(1000),
                    operations_tenant: operations.clone(),
                },
                disabled: mailer
                    .clone()
                    .map(|m| crate::notify::owners::start(store.clone(), m)),
                metrics: metrics.clone(),
            },
            retry_jitter: crate::delivery::schedule::Jitter::new(config.retry_jitter),
            metrics: metrics.clone(),
        };
        let shutdown = CancellationToken::new();
        let worker = Worker::new(
            store.clone(),
            sender.clone(),
            wake.clone(),
            settings,
            shutdown.clone(),
        );
        let exporter = Arc::new(Exporter::new(
            metrics.clone(),
            store.clone(),
            worker.host_queues(),
            Duration::from_millis(config.metrics_refresh_ms),
        ));
        let metrics_access = match (config.metrics_listen, config.metrics_require_admin_key) {
            (Some(_), _) => MetricsAccess::Elsewhere,
            (None, true) => MetricsAccess::AdminKey,
            (None, false) => MetricsAccess::Anyone,
        };
        let state = AppState::new(StateInner {
            store: store.clone(),
            publisher: Publisher::start(
                store.clone(),
                wake.clone(),
                worker.handoff(),
                metrics.clone(),
            ),
            sender: sender.clone(),
            wake: wake.clone(),
            admin_key_hash,
            url_policy,
            catalog: Catalog::default(),
            rotation_overlap: Duration::from_secs(config.secret_rotation_overlap_seconds),
            operations,
            public_url: config.public_url.clone(),
            exporter: exporter.clone(),
            metrics_access,
        });
        let router = if role.serves_api() {
            let dashboard = crate::dashboard::Settings {
                session_idle: Duration::from_secs(config.dashboard_session_idle_seconds),
                frame_ancestors: config.dashboard_frame_ancestors.clone(),
                public_https: config
                    .public_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://")),
            };
            api::router(state.clone(), config.max_body_bytes)
                .merge(crate::dashboard::router(state, dashboard))
        } else {
            api::health_router(state)
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let metrics_listener = match config.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("listening on {address} (metrics_listen)"))?,
            ),
            None => None,
        };
        Ok(App {
            listener,
            metrics_listener,
            exporter,
            router,
            store,
            wake,
            worker,
            role,
            delivery_lock,
            shutdown,
            generated_admin_key,
            mailer,
            retention_days: config.retention_days,
        })
    }

    /// The bound address (port 0 in the config picks a free port).
    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Where `/metrics` is served without auth, when `metrics_listen` is set.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// Cancel it to stop the server gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The admin key, when this start generated it: show it once.
    pub fn generated_admin_key(&self) -> Option<&str> {
        self.generated_admin_key.as_deref()
    }

    /// Where notices are emailed through; `None` when `smtp_url` is unset.
    pub fn mailer(&self) -> Option<&Mailer> {
        self.mailer.as_ref()
    }

    /// The store (for tests and the CLI).
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Serves the API and runs the delivery worker and the retention job until the shutdown
    /// token is cancelled; then stops accepting requests, stops claiming, lets in-flight
    /// attempts finish (bounded) and records them.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let shutdown = self.shutdown.clone();
        let address = self.address();
        self.exporter.start_upkeep(shutdown.clone());
        let metrics_server = self.metrics_listener.map(|listener| {
            let served = axum::serve(listener, api::metrics_router(self.exporter.clone()))
                .with_graceful_shutdown(shutdown.clone().cancelled_owned());
            tokio::spawn(async move {
                if let Err(e) = served.await {
                    warn!(error = %e, "the metrics listener failed");
                }
            })
        });
        let lock = self.delivery_lock;
        // Retention runs where deliveries are made, so an API node stays free of background
        // writes.
        let (worker, retention) = if self.role.delivers() {
            self.store
                .listen_for_work(self.wake.clone(), shutdown.clone());
            let worker = self.worker;
            let retention =
                crate::retention::start(self.store.clone(), self.retention_days, shutdown.clone());
            let worker = tokio::spawn(worker.run());
            (Some(worker), Some(retention))
        } else {
            info!("delivery is off on this node (role = api): serving the API only");
            (None, None)
        };
        info!(
            address = %address,
            database = self.store.backend(),
            role = self.role.as_str(),
            "hookrelay is listening"
        );
        let server = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let served = server.await;
        shutdown.cancel();
        if let Some(worker) = worker
            && let Err(e) = worker.await
        {
            warn!(error = %e, "delivery worker ended abnormally");
        }
        if let Some(retention) = retention
            && let Err(e) = retention.await
        {
            warn!(error = %e, "retention job ended abnormally");
        }
        drop(lock);
        if let Some(metrics_server) = metrics_server
            && let Err(e) = metrics_server.await
        {
            warn!(error = %e, "the metrics listener ended abnormally");
        }
        info!("hookrelay stopped");
        served.context("serving HTTP")
    }
}

/// The admin key in force: the configured one, else the one generated at first start (only
/// its hash is kept), else a new one, returned so it can be printed once.
async fn settle_admin_key(
    config: &Config,
    store: &dyn Store,
) -> anyhow::Result<(String, Option<String>)> {
    if let Some(key) = &config.admin_key {
        return Ok((keys::hash(key.expose()), None));
    }
    if let Some(hash) = store.admin_key_hash().await? {
        return Ok((hash, None));
    }
    let key = keys::generate(keys::ADMIN_PREFIX);
    let hash = keys::hash(&key);
    store
        .set_admin_key_hash(&KeyId::generate(), &hash, crate::clock::now_ms())
        .await?;
    Ok((hash, Some(key)))
}

/// The TLS client configuration of deliveries: the built-in roots plus
/// `extra_root_certificates`, whose problems are reported under that key.
fn delivery_tls(config: &Config) -> anyhow::Result<rustls::ClientConfig> {
    let extra = match &config.extra_root_certificates {
        Some(path) => tls::read_certificates(path).context("extra_root_certificates")?,
        None => Vec::new(),
    };
    tls::client_config(&extra).context("extra_root_certificates")
}

/// The address policy deliveries obey and how they resolve names: the `resolve` overrides, then
/// the DNS cache.
fn delivery_guard(config: &Config) -> anyhow::Result<Guard> {
    let overrides =
        HostOverrides::parse(&config.resolve).map_err(|e| anyhow::anyhow!("resolve: {e}"))?;
    if !overrides.is_empty() && !config.dev {
        // Not refused: the guard judges overridden addresses as it judges DNS's, so an override
        // opens nothing production would refuse; but DNS is what operators expect to rule.
        warn!(
            names = overrides.len(),
            "resolve overrides DNS for some delivery host names; it is meant for tests and development"
        );
    }
    let policy = AddressPolicy {
        allow_all: config.dev,
        allowed: config.allowed_cidrs.clone(),
        allowed_only: config.deliver_only_to_allowed_cidrs,
    };
    let dns = DnsSettings {
        ttl: Duration::from_secs(config.dns_cache_seconds),
        ..DnsSettings::default()
    };
    Ok(Guard::new(policy, overrides, dns))
}

/// A database URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The PostgreSQL pool's bounds, from the config.
pub fn pool_settings(config: &Config) -> store::PoolSettings {
    store::PoolSettings {
        max_connections: config.database_max_connections,
        acquire_timeout: Duration::from_secs(config.database_acquire_timeout_seconds),
    }
}
