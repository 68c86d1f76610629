//! [`Client`]: one hookrelay server, one API key, pooled connections; and how it retries.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderValue;

use crate::Error;

/// How calls that are safe to repeat (reads, and publishes, whose event id makes a repeat a
/// no-op) are retried after a connection failure, a timeout, a 5xx or a 429. Other calls are
/// sent once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1: no retry).
    pub attempts: u32,
    /// The first wait's bound; each later one doubles it (waits are drawn at random below
    /// it, so clients that failed together spread out).
    pub base_delay: Duration,
    /// No wait is longer, not even one a `Retry-After` asks for.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Four tries, waits from 250 ms up to 5 s.
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// One try, no retry.
    pub fn never() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }
}

/// A client of one hookrelay server with one API key (the admin key or a tenant key).
///
/// Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    /// `Some(tid)`: webhook calls go to `/v1/tenants/{tid}/webhooks…` (see [`Client::in_tenant`]).
    pub(crate) tenant: Option<Arc<str>>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// The server's address, with a path ending in `/` under which `v1/…` is.
    pub(crate) base: Url,
    /// `Bearer <key>`, marked sensitive so that it is never printed.
    pub(crate) auth: HeaderValue,
    pub(crate) retry: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server at `base_url` (e.g. `https://hooks.example.com`), with the
    /// default retry policy and a 30-second timeout per try.
    pub fn new(base_url: &str, key: &str) -> Result<Client, Error> {
        Client::builder(base_url, key).build()
    }

    /// A client with settings of your own.
    pub fn builder(base_url: &str, key: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_owned(),
            key: key.to_owned(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            http: None,
        }
    }

    /// The same client acting on one tenant's webhooks, with the admin key: the webhook,
    /// delivery-log, test, replay, rotation and stats calls then go to
    /// `/v1/tenants/{tenant}/webhooks/…` instead of the key's own `/v1/webhooks/…`.
    pub fn in_tenant(&self, tenant: &str) -> Client {
        Client {
            inner: self.inner.clone(),
            tenant: Some(tenant.into()),
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }
}

/// Settings for a [`Client`].
pub struct ClientBuilder {
    base_url: String,
    key: String,
    retry: RetryPolicy,
    timeout: Duration,
    http: Option<reqwest::Client>,
}

impl ClientBuilder {
    /// How safe calls are retried (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How long one try may take, answer included (default 30 s). Ignored with
    /// [`ClientBuilder::http_client`], whose own settings apply.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A `reqwest::Client` of your own (its pool, proxy and TLS settings).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The client; fails if `base_url` is not an `http(s)` URL or the key is not a valid
    /// header value.
    pub fn build(self) -> Result<Client, Error> {
        let unusable = || Error::Config(format!("{:?} is not an http(s) base URL", self.base_url));
        let mut base = Url::parse(&self.base_url).map_err(|_| unusable())?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(unusable());
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        base.set_fragment(None);
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.key))
            .map_err(|_| Error::Config("the API key cannot be sent as a header".into()))?;
        auth.set_sensitive(true);
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .tcp_nodelay(true)
                .build()?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                retry: self.retry,
            }),
            tenant: None,
        })
    }
}
