//! The one `Config`. Layers apply in this order: defaults, `hookrelay.toml`, `HOOKRELAY_*`
//! environment variables, command-line flags. A key `foo_bar` in the file is `HOOKRELAY_FOO_BAR`
//! in the environment and `--foo-bar` where it is also a flag. Every key is documented in
//! `hookrelay.example.toml`; a test keeps that file and [`KEYS`] in step with this struct.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ipnet::IpNet;
use serde::Deserialize;

mod role;
mod validate;

pub use role::Role;

/// A secret setting whose `Debug` output never shows the value.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How logs are written.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line, for production log pipelines.
    Json,
}

/// Every setting of the server. See `hookrelay.example.toml` for each key's meaning.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// Where `/metrics` is served, without auth, instead of on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// Whether `/metrics` on `listen` needs the admin key (`metrics_listen` never does).
    pub metrics_require_admin_key: bool,
    /// The queue gauges are read from the database at a scrape at most this often, in
    /// milliseconds (0: at every scrape).
    pub metrics_refresh_ms: u64,
    /// `sqlite://path` (created if missing) or `postgres://…`.
    pub database_url: String,
    /// PostgreSQL: most pooled connections this process opens.
    pub database_max_connections: u32,
    /// PostgreSQL: longest a query waits for a pooled connection (connecting included) before
    /// failing, which the API answers with 503.
    pub database_acquire_timeout_seconds: u64,
    /// Development mode: plain-HTTP webhook URLs and private/loopback targets are allowed.
    pub dev: bool,
    /// The operator's key. When unset, one is generated at first start and printed once.
    pub admin_key: Option<SecretString>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// CIDRs that outbound deliveries may reach even in production (e.g. an internal network).
    pub allowed_cidrs: Vec<IpNet>,
    /// Deliveries may reach only `allowed_cidrs` (and no name is looked up but `localhost`),
    /// whatever `dev` says: for a server that must not reach the internet, such as one a
    /// fuzzer drives.
    pub deliver_only_to_allowed_cidrs: bool,
    /// Host names resolved by configuration instead of DNS: `name=ip` or `*.suffix=ip` (see
    /// [`crate::model::host_override`]); for tests, benchmarks and development.
    pub resolve: Vec<String>,
    /// Seconds a delivery's DNS answer is reused (0: every connection looks its host up).
    pub dns_cache_seconds: u64,
    /// A PEM file of CA certificates that HTTPS deliveries trust besides the built-in roots
    /// (an operator's private CA).
    pub extra_root_certificates: Option<PathBuf>,
    /// Deliveries in flight at once, across all webhooks.
    pub max_in_flight: usize,
    /// Deliveries in flight at once to any one webhook.
    pub per_webhook_concurrency: usize,
    /// Connections (and so requests in flight) to any one host.
    pub per_host_connections: usize,
    /// A delivery connection unused this many seconds is closed.
    pub connection_idle_timeout_seconds: u64,
    /// Most unused delivery connections kept over all hosts (the one unused longest is closed
    /// first).
    pub max_idle_connections: usize,
    /// Most deliveries claimed by one query.
    pub claim_batch: usize,
    /// Seconds a claimed delivery stays leased before another worker may take it.
    pub lease_seconds: u64,
    /// Fallback poll interval, in milliseconds; new work wakes workers at once regardless.
    pub poll_interval_ms: u64,
    /// On shutdown, seconds in-flight attempts get to finish.
    pub shutdown_grace_seconds: u64,
    /// Log format: `text` or `json`.
    pub log_format: LogFormat,
    /// Whether this process runs delivery workers (false: an API-only node). One process at a
    /// time may deliver from an SQLite file.
    pub deliver: bool,
    /// After a secret rotation, seconds the old secret keeps signing too.
    pub secret_rotation_overlap_seconds: u64,
    /// A webhook whose attempts have all failed for this many seconds is disabled.
    pub disable_after_seconds: u64,
    /// Where the operator receives `webhook.disabled` and `webhook.enabled` events.
    pub operational_webhook_url: Option<String>,
    /// The Standard Webhooks secret (`whsec_…`) that signs operational events.
    pub operational_webhook_secret: Option<SecretString>,
    /// How far retry waits spread around each schedule step, as a fraction of it (0.0..=1.0).
    pub retry_jitter: f64,
    /// The SMTP relay notices are emailed through (`smtp://host:port`, `smtps://user:pass@host`);
    /// unset, none are. A secret: it may carry a password.
    pub smtp_url: Option<SecretString>,
    /// The sender of notices; required with `smtp_url`.
    pub email_from: Option<String>,
    /// Finished deliveries (with their attempts) are kept this many days, then purged by a
    /// delivering node; events go once no delivery refers to them.
    pub retention_days: u32,
    /// What this process does: `all`, `api` or `worker` (the last two need PostgreSQL).
    pub role: Role,
    /// The address people reach this server at (`https://hooks.example.com`), for dashboard
    /// sign-in links and Secure cookies; unset, links use the request's own host.
    pub public_url: Option<String>,
    /// A dashboard session idle this many seconds is signed out.
    pub dashboard_session_idle_seconds: u64,
    /// The CSP `frame-ancestors` of dashboard pages: who may embed them in a frame.
    pub dashboard_frame_ancestors: String,
    /// Threads of the async runtime `serve` runs on; unset: [`Config::worker_threads`]'s default.
    pub worker_threads: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
            metrics_require_admin_key: true,
            metrics_refresh_ms: 5000,
            database_url: "sqlite://hookrelay.db".to_owned(),
            database_max_connections: 16,
            database_acquire_timeout_seconds: 5,
            dev: false,
            admin_key: None,
            max_body_bytes: 1024 * 1024,
            allowed_cidrs: Vec::new(),
            deliver_only_to_allowed_cidrs: false,
            resolve: Vec::new(),
            dns_cache_seconds: 30,
            extra_root_certificates: None,
            max_in_flight: 1024,
            per_webhook_concurrency: 32,
            per_host_connections: 64,
            connection_idle_timeout_seconds: 50,
            max_idle_connections: 4096,
            claim_batch: 1024,
            lease_seconds: 60,
            poll_interval_ms: 1000,
            shutdown_grace_seconds: 15,
            log_format: LogFormat::Text,
            deliver: true,
            secret_rotation_overlap_seconds: 24 * 3600,
            disable_after_seconds: 72 * 3600,
            operational_webhook_url: None,
            operational_webhook_secret: None,
            retry_jitter: 0.1,
            smtp_url: None,
            email_from: None,
            retention_days: 30,
            role: Role::All,
            public_url: None,
            dashboard_session_idle_seconds: 8 * 3600,
            dashboard_frame_ancestors: "'none'".to_owned(),
            worker_threads: None,
        }
    }
}

/// The most runtime threads `worker_threads` defaults to, however many cores the machine has.
///
/// Each runtime thread brings its own allocator heap (mimalloc's pages are per thread), task
/// queue and buffers, so memory grew with the machine rather than the work: `throughput` peaked
/// at 290 MB of RSS on 16 cores against 102 MB on 2 (issue 15). The delivery path is I/O bound
/// (its CPU goes to the kernel's sockets, TLS and the database writer, which is one thread on
/// SQLite), and on 2 cores hookrelay and its receiver already share the machine at 0.5 of a
/// bare client's rate; four threads leave room for twice that while the memory they cost stays
/// near the 2-core figure. An operator who measures a gain from more sets it.
pub const DEFAULT_MAX_WORKER_THREADS: usize = 4;

/// The machine's cores, at most [`DEFAULT_MAX_WORKER_THREADS`].
pub fn default_worker_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(DEFAULT_MAX_WORKER_THREADS)
}

impl Config {
    /// The runtime threads to start: `worker_threads`, or [`default_worker_threads`].
    pub fn worker_threads(&self) -> usize {
        self.worker_threads.unwrap_or_else(default_worker_threads)
    }
}

/// How an environment variable's text becomes a TOML value.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Typed,
    List,
}

/// Every key, so the environment layer knows which `HOOKRELAY_*` variables are settings.
pub const KEYS: &[&str] = &[
    "listen",
    "metrics_listen",
    "metrics_require_admin_key",
    "metrics_refresh_ms",
    "database_url",
    "database_max_connections",
    "database_acquire_timeout_seconds",
    "dev",
    "admin_key",
    "max_body_bytes",
    "allowed_cidrs",
    "deliver_only_to_allowed_cidrs",
    "resolve",
    "dns_cache_seconds",
    "extra_root_certificates",
    "max_in_flight",
    "per_webhook_concurrency",
    "per_host_connections",
    "connection_idle_timeout_seconds",
    "max_idle_connections",
    "claim_batch",
    "lease_seconds",
    "poll_interval_ms",
    "shutdown_grace_seconds",
    "log_format",
    "deliver",
    "secret_rotation_overlap_seconds",
    "disable_after_seconds",
    "operational_webhook_url",
    "operational_webhook_secret",
    "retry_jitter",
    "smtp_url",
    "email_from",
    "retention_days",
    "role",
    "public_url",
    "dashboard_session_idle_seconds",
    "dashboard_frame_ancestors",
    "worker_threads",
];

fn kind(key: &str) -> Kind {
    match key {
        "listen"
        | "metrics_listen"
        | "database_url"
        | "admin_key"
        | "log_format"
        | "operational_webhook_url"
        | "operational_webhook_secret"
        | "smtp_url"
        | "email_from"
        | "role"
        | "public_url"
        | "extra_root_certificates"
        | "dashboard_frame_ancestors" => Kind::Text,
        "allowed_cidrs" | "resolve" => Kind::List,
        _ => Kind::Typed,
    }
}

/// Values given on the command line; `None` leaves the lower layers in force.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`
    pub listen: Option<String>,
    /// `--database-url`
    pub database_url: Option<String>,
    /// `--dev`
    pub dev: bool,
    /// `--role`
    pub role: Option<String>,
    /// `--log-format`
    pub log_format: Option<String>,
}

impl Config {
    /// Builds the config from the file (if any), the process environment and the flags.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::from_layers(file, &env, overrides)
    }

    /// Builds the config from explicit layers (testable without touching the process env).
    pub fn from_layers(
        file: Option<&Path>,
        env: &[(String, String)],
        overrides: &Overrides,
    ) -> anyhow::Result<Self> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str::<toml::Table>(&text)
                    .with_context(|| format!("parsing config file {}", path.display()))?
            }
            None => toml::Table::new(),
        };
        for (name, raw) in env {
            let Some(key) = name.strip_prefix("HOOKRELAY_") else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            if !KEYS.contains(&key.as_str()) {
                continue;
            }
            let value = env_value(kind(&key), raw)
                .with_context(|| format!("environment variable {name}"))?;
            table.insert(key, value);
        }
        if let Some(listen) = &overrides.listen {
            table.insert("listen".into(), toml::Value::String(listen.clone()));
        }
        if let Some(url) = &overrides.database_url {
            table.insert("database_url".into(), toml::Value::String(url.clone()));
        }
        if overrides.dev {
            table.insert("dev".into(), toml::Value::Boolean(true));
        }
        for (key, value) in [
            ("role", &overrides.role),
            ("log_format", &overrides.log_format),
        ] {
            if let Some(value) = value {
                table.insert(key.into(), toml::Value::String(value.clone()));
            }
        }
        let config: Config = toml::Value::Table(table)
            .try_into()
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }
}

fn env_value(kind: Kind, raw: &str) -> anyhow::Result<toml::Value> {
    Ok(match kind {
        Kind::Text => toml::Value::String(raw.to_owned()),
        Kind::List => toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        ),
        Kind::Typed => {
            let doc: toml::Table = toml::from_str(&format!("v = {raw}"))
                .with_context(|| format!("{raw:?} is not a number or boolean"))?;
            doc.get("v")
                .cloned()
                .unwrap_or(toml::Value::String(raw.to_owned()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn flags_beat_environment_which_beats_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hookrelay.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:1000\"\nclaim_batch = 7\nmax_in_flight = 9\n",
        )
        .expect("write");
        let vars = env(&[
            ("HOOKRELAY_LISTEN", "127.0.0.1:2000"),
            ("HOOKRELAY_CLAIM_BATCH", "8"),
            ("HOOKRELAY_TEST_POSTGRES", "ignored: not a setting"),
        ]);
        let flags = Overrides {
            listen: Some("127.0.0.1:3000".into()),
            ..Overrides::default()
        };
        let config = Config::from_layers(Some(&path), &vars, &flags).expect("config");
        assert_eq!(config.listen.port(), 3000);
        assert_eq!(config.claim_batch, 8);
        assert_eq!(config.max_in_flight, 9);
        assert_eq!(config.per_host_connections, 64);
    }

    #[test]
    fn unknown_file_keys_and_bad_values_are_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hookrelay.toml");
        std::fs::write(&path, "lisen = \"x\"\n").expect("write");
        let err = Config::from_layers(Some(&path), &[], &Overrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("lisen"), "{err:#}");
        let vars = env(&[("HOOKRELAY_CLAIM_BATCH", "0")]);
        let err = Config::from_layers(None, &vars, &Overrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("claim_batch"), "{err:#}");
    }

    #[test]
    fn retry_jitter_outside_zero_to_one_is_refused_by_name() {
        for bad in ["-0.1", "1.5", "nan"] {
            let vars = env(&[("HOOKRELAY_RETRY_JITTER", bad)]);
            let err = Config::from_layers(None, &vars, &Overrides::default()).unwrap_err();
            assert!(
                format!("{err:#}").contains("retry_jitter"),
                "{bad}: {err:#}"
            );
        }
        for good in ["0", "0.0", "0.25", "1.0"] {
            let vars = env(&[("HOOKRELAY_RETRY_JITTER", good)]);
            let config = Config::from_layers(None, &vars, &Overrides::default()).expect(good);
            assert!((0.0..=1.0).contains(&config.retry_jitter));
        }
        assert_eq!(Config::default().retry_jitter, 0.1);
    }

    #[test]
    fn database_pool_settings_have_defaults_and_must_be_at_least_one() {
        let defaults = Config::default();
        assert_eq!(defaults.database_max_connections, 16);
        assert_eq!(defaults.database_acquire_timeout_seconds, 5);
        for key in [
            "HOOKRELAY_DATABASE_MAX_CONNECTIONS",
            "HOOKRELAY_DATABASE_ACQUIRE_TIMEOUT_SECONDS",
        ] {
            let vars = env(&[(key, "0")]);
            let err = Config::from_layers(None, &vars, &Overrides::default()).unwrap_err();
            let named = key.trim_start_matches("HOOKRELAY_").to_ascii_lowercase();
            assert!(format!("{err:#}").contains(&named), "{err:#}");
        }
        let vars = env(&[
            ("HOOKRELAY_DATABASE_MAX_CONNECTIONS", "4"),
            ("HOOKRELAY_DATABASE_ACQUIRE_TIMEOUT_SECONDS", "2"),
        ]);
        let config = Config::from_layers(None, &vars, &Overrides::default()).expect("config");
        assert_eq!(config.database_max_connections, 4);
        assert_eq!(config.database_acquire_timeout_seconds, 2);
    }

    #[test]
    fn retention_days_defaults_to_thirty_and_must_be_at_least_one() {
        assert_eq!(Config::default().retention_days, 30);
        let vars = env(&[("HOOKRELAY_RETENTION_DAYS", "0")]);
        let err = Config::from_layers(None, &vars, &Overrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("retention_days"), "{err:#}");
        let vars = env(&[("HOOKRELAY_RETENTION_DAYS", "7")]);
        let config = Config::from_layers(None, &vars, &Overrides::default()).expect("config");
        assert_eq!(config.retention_days, 7);
    }

    #[test]
    fn role_layers_like_every_key_and_needs_postgres_unless_all() {
        let pg = ("HOOKRELAY_DATABASE_URL", "postgres://localhost/hr");
        let config = Config::from_layers(None, &env(&[pg]), &Overrides::default()).expect("config");
        assert_eq!(config.effective_role(), Role::All);
        let vars = env(&[pg, ("HOOKRELAY_ROLE", "api")]);
        let config = Config::from_layers(None, &vars, &Overrides::default()).expect("config");
        assert_eq!(config.effective_role(), Role::Api);
        let flags = Overrides {
            role: Some("worker".into()),
            ..Overrides::default()
        };
        let config = Config::from_layers(None, &vars, &flags).expect("config");
        assert_eq!(config.effective_role(), Role::Worker);
        let vars = env(&[pg, ("HOOKRELAY_DELIVER", "false")]);
        let config = Config::from_layers(None, &vars, &Overrides::default()).expect("config");
        assert_eq!(config.effective_role(), Role::Api, "the deprecated alias");
        let err = Config::from_layers(None, &vars, &flags).unwrap_err();
        assert!(format!("{err:#}").contains("deliver"), "{err:#}");

        let vars = env(&[("HOOKRELAY_ROLE", "api")]);
        let err = Config::from_layers(None, &vars, &Overrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("needs PostgreSQL"), "{err:#}");
        let vars = env(&[("HOOKRELAY_DELIVER", "false")]);
        let config = Config::from_layers(None, &vars, &Overrides::default())
            .expect("one SQLite process that only queues");
        assert_eq!(config.effective_role(), Role::Api);
        let flags = Overrides {
            log_format: Some("json".into()),
            ..Overrides::default()
        };
        let config = Config::from_layers(None, &[], &flags).expect("config");
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn secrets_do_not_print() {
        let vars = env(&[
            ("HOOKRELAY_ADMIN_KEY", "super-secret-admin-key"),
            (
                "HOOKRELAY_SMTP_URL",
                "smtps://u:super-secret-smtp@smtp.example.com",
            ),
            ("HOOKRELAY_EMAIL_FROM", "hookrelay <hr@example.com>"),
        ]);
        let config = Config::from_layers(None, &vars, &Overrides::default()).expect("config");
        assert!(!format!("{config:?}").contains("super-secret"));
    }

    #[test]
    fn email_settings_are_checked_by_name_without_showing_the_url() {
        let refused = |pairs: &[(&str, &str)]| {
            let err = Config::from_layers(None, &env(pairs), &Overrides::default()).unwrap_err();
            format!("{err:#}")
        };
        let from = ("HOOKRELAY_EMAIL_FROM", "hr@example.com");
        let err = refused(&[
            ("HOOKRELAY_SMTP_URL", "https://u:pw-123@mail.example.com"),
            from,
        ]);
        assert!(err.contains("smtp_url") && !err.contains("pw-123"), "{err}");
        let err = refused(&[("HOOKRELAY_SMTP_URL", "smtp://mail.example.com")]);
        assert!(err.contains("email_from"), "{err}");
        let err = refused(&[("HOOKRELAY_EMAIL_FROM", "hookrelay at example")]);
        assert!(err.contains("email_from"), "{err}");
        let vars = env(&[("HOOKRELAY_SMTP_URL", "smtp://127.0.0.1:2525"), from]);
        Config::from_layers(None, &vars, &Overrides::default()).expect("a plain relay is fine");
    }

    #[test]
    fn worker_threads_default_to_the_cores_at_most_four_and_zero_is_refused() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let defaults = Config::from_layers(None, &[], &Overrides::default()).expect("config");
        assert_eq!(defaults.worker_threads, None);
        assert_eq!(defaults.worker_threads(), cores.min(4));
        let vars = env(&[("HOOKRELAY_WORKER_THREADS", "12")]);
        let config = Config::from_layers(None, &vars, &Overrides::default()).expect("config");
        assert_eq!(
            config.worker_threads(),
            12,
            "an explicit value is not capped"
        );
        let vars = env(&[("HOOKRELAY_WORKER_THREADS", "0")]);
        let err = Config::from_layers(None, &vars, &Overrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("worker_threads"), "{err:#}");
        let vars = env(&[("HOOKRELAY_WORKER_THREADS", "-1")]);
        let err = Config::from_layers(None, &vars, &Overrides::default()).unwrap_err();
        assert!(format!("{err:#}").contains("worker_threads"), "{err:#}");
    }

    #[test]
    fn resolve_overrides_and_the_dns_cache_are_checked_by_name() {
        let vars = env(&[("HOOKRELAY_RESOLVE", "*.hooks.test=127.0.0.1, api.test=::1")]);
        let config = Config::from_layers(None, &vars, &Overrides::default()).expect("config");
        assert_eq!(config.resolve, ["*.hooks.test=127.0.0.1", "api.test=::1"]);
        assert_eq!(config.dns_cache_seconds, 30);
        for (key, bad) in [
            ("HOOKRELAY_RESOLVE", "hooks.test"),
            ("HOOKRELAY_RESOLVE", "a.test=not-an-ip"),
            ("HOOKRELAY_DNS_CACHE_SECONDS", "86400"),
        ] {
            let err = Config::from_layers(None, &env(&[(key, bad)]), &Overrides::default())
                .expect_err(bad);
            let named = key.trim_start_matches("HOOKRELAY_").to_ascii_lowercase();
            assert!(format!("{err:#}").contains(&named), "{bad}: {err:#}");
        }
        let vars = env(&[("HOOKRELAY_DNS_CACHE_SECONDS", "0")]);
        let config = Config::from_layers(None, &vars, &Overrides::default()).expect("no cache");
        assert_eq!(config.dns_cache_seconds, 0);
    }

    #[test]
    fn metrics_listen_must_differ_from_listen() {
        let config = Config {
            metrics_listen: Some(Config::default().listen),
            ..Config::default()
        };
        let err = config.validate().expect_err("the same address").to_string();
        assert!(err.contains("metrics_listen"), "{err}");
        let vars = env(&[
            ("HOOKRELAY_METRICS_LISTEN", "127.0.0.1:9090"),
            ("HOOKRELAY_METRICS_REQUIRE_ADMIN_KEY", "false"),
        ]);
        let config = Config::from_layers(None, &vars, &Overrides::default()).expect("config");
        assert_eq!(config.metrics_listen, Some(([127, 0, 0, 1], 9090).into()));
        assert!(!config.metrics_require_admin_key);
    }

    #[test]
    fn the_example_file_documents_every_key_and_parses() {
        let text = include_str!("../../../hookrelay.example.toml");
        for key in KEYS {
            assert!(
                text.contains(&format!("# {key} =")) || text.contains(&format!("\n{key} =")),
                "hookrelay.example.toml does not document {key}"
            );
        }
        let uncommented: String = text
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|l| l.contains(" = "))
                    .unwrap_or(l)
            })
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: Config = toml::from_str(&uncommented).expect("example parses as a Config");
        parsed.validate().expect("example is valid");
    }
}
