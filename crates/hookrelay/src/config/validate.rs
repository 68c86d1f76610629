//! The checks on a loaded configuration that serde cannot make, each naming the offending key.

use anyhow::bail;

use super::{Config, Role};

/// The longest `dns_cache_seconds`: the system resolver gives no TTL, so this bounds how long
/// a changed record can go unnoticed.
const MAX_DNS_CACHE_SECONDS: u64 = 3600;

impl Config {
    /// Checks what serde cannot, naming the offending key.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            bail!("database_url: must start with sqlite:, postgres:// or postgresql://");
        }
        for (key, value) in [
            ("max_in_flight", self.max_in_flight),
            ("per_webhook_concurrency", self.per_webhook_concurrency),
            ("per_host_connections", self.per_host_connections),
            ("claim_batch", self.claim_batch),
            ("max_body_bytes", self.max_body_bytes),
            (
                "database_max_connections",
                self.database_max_connections as usize,
            ),
            (
                "database_acquire_timeout_seconds",
                self.database_acquire_timeout_seconds as usize,
            ),
        ] {
            if value == 0 {
                bail!("{key}: must be at least 1");
            }
        }
        if self.worker_threads == Some(0) {
            bail!(
                "worker_threads: must be at least 1 (leave it unset for the machine's cores, at most {})",
                super::DEFAULT_MAX_WORKER_THREADS
            );
        }
        if self.lease_seconds < 35 {
            bail!("lease_seconds: must be at least 35 (longer than the 30 s maximum timeout)");
        }
        // Also refuses NaN, which `contains` never holds.
        if !(0.0..=1.0).contains(&self.retry_jitter) {
            bail!("retry_jitter: must be from 0.0 to 1.0 (a fraction of each retry delay)");
        }
        if let Some(key) = &self.admin_key
            && key.expose().len() < 16
        {
            bail!("admin_key: must be at least 16 characters");
        }
        if self.connection_idle_timeout_seconds == 0 {
            bail!("connection_idle_timeout_seconds: must be at least 1");
        }
        if let Err(e) = crate::model::host_override::HostOverrides::parse(&self.resolve) {
            bail!("resolve: {e}");
        }
        if self.dns_cache_seconds > MAX_DNS_CACHE_SECONDS {
            bail!(
                "dns_cache_seconds: at most {MAX_DNS_CACHE_SECONDS} (an address kept longer would outlive most DNS changes)"
            );
        }
        if self.disable_after_seconds == 0 {
            bail!("disable_after_seconds: must be at least 1");
        }
        if !self.deliver && self.role == Role::Worker {
            bail!(
                "deliver: false (deprecated; it means role = \"api\") contradicts role = \"worker\""
            );
        }
        self.check_role()?;
        if self.dashboard_session_idle_seconds == 0 {
            bail!("dashboard_session_idle_seconds: must be at least 1");
        }
        if let Some(url) = &self.public_url
            && !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            bail!("public_url: must be an http:// or https:// URL, e.g. https://hooks.example.com");
        }
        // Its value goes into a header verbatim: no way to end the directive or the header.
        if self.dashboard_frame_ancestors.trim().is_empty()
            || self
                .dashboard_frame_ancestors
                .contains([';', ',', '\r', '\n'])
        {
            bail!(
                "dashboard_frame_ancestors: must be CSP sources such as 'none', 'self' or https://app.example.com"
            );
        }
        if self.metrics_listen == Some(self.listen) && self.listen.port() != 0 {
            bail!("metrics_listen: must differ from listen");
        }
        if self.retention_days == 0 {
            bail!("retention_days: must be at least 1");
        }
        match (
            &self.operational_webhook_url,
            &self.operational_webhook_secret,
        ) {
            (Some(_), None) => bail!(
                "operational_webhook_secret: required with operational_webhook_url (a whsec_… secret)"
            ),
            (None, Some(_)) => {
                bail!("operational_webhook_url: required with operational_webhook_secret")
            }
            _ => {}
        }
        if let Some(url) = &self.smtp_url {
            // The message never quotes the URL: it may carry a password.
            let parsed = url::Url::parse(url.expose()).ok();
            if !parsed.is_some_and(|u| matches!(u.scheme(), "smtp" | "smtps") && u.has_host()) {
                bail!(
                    "smtp_url: must be smtp://host[:port] or smtps://[user:password@]host[:port]"
                );
            }
            if self.email_from.is_none() {
                bail!("email_from: required when smtp_url is set");
            }
        }
        if let Some(from) = &self.email_from
            && from.parse::<lettre::message::Mailbox>().is_err()
        {
            bail!("email_from: must be an email address, e.g. \"hookrelay <hr@example.com>\"");
        }
        Ok(())
    }
}
