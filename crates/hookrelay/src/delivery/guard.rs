//! The outbound address guard. In production a delivery may only reach public addresses (as
//! [`crate::model::address`] defines them): the check runs on the addresses DNS returns, inside
//! the HTTP client's resolver, so the address checked is the address connected to (a DNS
//! rebinding answer cannot slip past it). Literal-IP URLs never reach a resolver, so the sender
//! checks those with [`AddressPolicy::allows`] too. A confined policy (`allowed_only`) reaches
//! only its allow-list and looks no name up but `localhost`, so not even a DNS query leaves.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
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
    /// Only `allowed`, whatever `allow_all` says.
    pub allowed_only: bool,
}

impl AddressPolicy {
    /// Whether a delivery may connect to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let listed = self.allowed.iter().any(|net| net.contains(&ip));
        if self.allowed_only {
            return listed;
        }
        self.allow_all || is_public(ip) || listed
    }

    /// The addresses of `host` a delivery may connect to (empty when none is allowed). A
    /// confined policy knows only IP literals and `localhost`, without a lookup.
    pub async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        if self.allowed_only {
            let known: Vec<IpAddr> = match host.parse::<IpAddr>() {
                Ok(ip) => vec![ip],
                Err(_) if host.eq_ignore_ascii_case("localhost") => {
                    vec![
                        IpAddr::from([127, 0, 0, 1]),
                        IpAddr::from(Ipv6Addr::LOCALHOST),
                    ]
                }
                Err(_) => Vec::new(),
            };
            return Ok(known
                .into_iter()
                .filter(|ip| self.allows(*ip))
                .map(|ip| SocketAddr::new(ip, port))
                .collect());
        }
        Ok(tokio::net::lookup_host((host, port))
            .await?
            .filter(|addr| self.allows(addr.ip()))
            .collect())
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
            let found = policy.lookup(&host, 0).await?;
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
            allowed_only: false,
        };
        assert!(!strict.allows(ip("10.1.2.3")));
        let listed = AddressPolicy {
            allow_all: false,
            allowed: vec!["10.1.0.0/16".parse().expect("cidr")],
            allowed_only: false,
        };
        assert!(listed.allows(ip("10.1.2.3")));
        assert!(!listed.allows(ip("10.2.0.1")));
        let dev = AddressPolicy {
            allow_all: true,
            allowed: vec![],
            allowed_only: false,
        };
        assert!(dev.allows(ip("127.0.0.1")));
    }

    #[tokio::test]
    async fn a_confined_policy_reaches_only_its_list_and_looks_no_name_up() {
        let confined = AddressPolicy {
            allow_all: true,
            allowed: vec!["127.0.0.0/8".parse().expect("cidr")],
            allowed_only: true,
        };
        assert!(confined.allows(ip("127.0.0.2")));
        assert!(!confined.allows(ip("8.8.8.8")));
        assert!(!confined.allows(ip("10.0.0.1")));
        let local = confined.lookup("localhost", 80).await.expect("lookup");
        assert_eq!(local, [SocketAddr::from(([127, 0, 0, 1], 80))]);
        // A name that does not exist would fail a lookup; confined, it is simply not known.
        let unknown = confined
            .lookup("no-such-host.invalid", 80)
            .await
            .expect("no lookup");
        assert!(unknown.is_empty());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_loopback() {
        let resolver = GuardedResolver::new(Arc::new(AddressPolicy {
            allow_all: false,
            allowed: vec![],
            allowed_only: false,
        }));
        let name: Name = "localhost".parse().expect("name");
        let err = resolver.resolve(name).await.err().expect("refused");
        assert!(err.to_string().contains("not allowed"), "{err}");
    }
}
