//! The outbound address guard. In production a delivery may only reach public addresses (as
//! [`crate::model::address`] defines them): the check runs on the addresses DNS returns, inside
//! the HTTP client's resolver, so the address checked is the address connected to (a DNS
//! rebinding answer cannot slip past it). Literal-IP URLs never reach a resolver, so the sender
//! checks those with [`AddressPolicy::allows`] too.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::model::address::is_public;

/// Which addresses deliveries may reach.
#[derive(Clone, Debug)]
pub struct AddressPolicy {
    /// Development mode: everything.
    pub allow_all: bool,
    /// Networks allowed although private.
    pub allowed: Vec<IpNet>,
}

impl AddressPolicy {
    /// Whether a delivery may connect to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_all || is_public(ip) || self.allowed.iter().any(|net| net.contains(&ip))
    }
}

/// A resolver that drops the addresses the policy forbids, and fails when none is left.
pub struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl GuardedResolver {
    /// A resolver enforcing `policy`.
    pub fn new(policy: Arc<AddressPolicy>) -> Self {
        Self { policy }
    }
}

/// Every address a name resolved to is forbidden by the policy.
#[derive(Debug, thiserror::Error)]
#[error("address not allowed: {0} resolves only to private, loopback or link-local addresses")]
pub struct Forbidden(pub String);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| policy.allows(addr.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(Forbidden(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_allow_list_and_development_mode_open_private_ranges() {
        let strict = AddressPolicy {
            allow_all: false,
            allowed: vec![],
        };
        assert!(!strict.allows(ip("10.1.2.3")));
        let listed = AddressPolicy {
            allow_all: false,
            allowed: vec!["10.1.0.0/16".parse().expect("cidr")],
        };
        assert!(listed.allows(ip("10.1.2.3")));
        assert!(!listed.allows(ip("10.2.0.1")));
        let dev = AddressPolicy {
            allow_all: true,
            allowed: vec![],
        };
        assert!(dev.allows(ip("127.0.0.1")));
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_loopback() {
        let resolver = GuardedResolver::new(Arc::new(AddressPolicy {
            allow_all: false,
            allowed: vec![],
        }));
        let name: Name = "localhost".parse().expect("name");
        let err = resolver.resolve(name).await.err().expect("refused");
        assert!(err.to_string().contains("not allowed"), "{err}");
    }
}
