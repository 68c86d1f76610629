//! A webhook prepared for sending: what every attempt to one version of it shares, worked out
//! once per version (the webhook cache holds one per webhook) instead of once per attempt: its
//! signature scheme and its keys decoded, and for a broker URL, its parsed destination.

use std::ops::Deref;

use hookrelay_signature::{Scheme, Secret};

use super::brokers::BrokerTarget;
use crate::store::Webhook;

/// One version of a webhook, ready to send to. Dereferences to the [`Webhook`].
#[derive(Debug)]
pub struct Target {
    webhook: Webhook,
    scheme: Scheme,
    /// `None` when the stored secret does not fit the scheme.
    secret: Option<Secret>,
    /// The previous secret while a rotation overlaps, and until when (unix ms).
    previous: Option<(Secret, i64)>,
    /// The broker the URL names, if it is not an HTTP URL.
    broker: Option<Box<BrokerTarget>>,
}

impl Target {
    /// Prepares `webhook`.
    pub fn new(webhook: Webhook) -> Self {
        let scheme = webhook.signature.scheme();
        let secret = Secret::new(&scheme, &webhook.secret).ok();
        let previous = webhook
            .previous_secret
            .as_ref()
            .and_then(|(old, until)| Some((Secret::new(&scheme, old).ok()?, *until)));
        let broker = webhook
            .url
            .broker()
            .map(|url| Box::new(BrokerTarget::new(url)));
        Self {
            scheme,
            secret,
            previous,
            broker,
            webhook,
        }
    }

    /// The URL (parsed when the webhook was read).
    pub fn url(&self) -> &reqwest::Url {
        self.webhook.url.as_url()
    }

    /// The broker destination, when the URL names a broker.
    pub fn broker(&self) -> Option<&BrokerTarget> {
        self.broker.as_deref()
    }

    /// The signature scheme.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The signing key, if the stored secret fits the scheme.
    pub fn secret(&self) -> Option<&Secret> {
        self.secret.as_ref()
    }

    /// The previous key, while its rotation overlap lasts at `now_ms`.
    pub fn previous_secret(&self, now_ms: i64) -> Option<&Secret> {
        self.previous
            .as_ref()
            .filter(|(_, until)| *until > now_ms)
            .map(|(old, _)| old)
    }
}

impl Deref for Target {
    type Target = Webhook;

    fn deref(&self) -> &Webhook {
        &self.webhook
    }
}
