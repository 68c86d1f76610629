//! The outbound address guard. In production a delivery may only reach public addresses (as
//! [`crate::model::address`] defines them): the check runs on the addresses a name resolves to,
//! inside the connection's own lookup, so the address checked is the address connected to (a DNS
//! rebinding answer cannot slip past it). Names resolve through the `resolve` overrides, then
//! the DNS cache (`dns.rs`); the policy judges every address on every use, whichever gave it,
//! so neither a cached answer nor an override can carry an address past it. Literal-IP URLs
//! never reach a resolver, so the sender checks those with [`AddressPolicy::allows`] too. A
//! confined policy (`allowed_only`) reaches only its allow-list and looks no name up but
//! `localhost` and the overrides, so not even a DNS query leaves.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::dns::{DnsCache, DnsCounts, DnsSettings};
use crate::model::address::is_public;
use crate::model::host_override::HostOverrides;

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
}

/// The policy and how names are resolved for it: what every delivery connection goes through.
pub struct Guard {
    policy: AddressPolicy,
    overrides: HostOverrides,
    dns: DnsCache,
}

impl From<AddressPolicy> for Guard {
    /// `policy` with no overrides and the default DNS cache.
    fn from(policy: AddressPolicy) -> Self {
        Self::new(policy, HostOverrides::default(), DnsSettings::default())
    }
}

impl Guard {
    /// Resolves names through `overrides`, then a DNS cache of `dns`, for `policy`.
    pub fn new(policy: AddressPolicy, overrides: HostOverrides, dns: DnsSettings) -> Self {
        Self {
            policy,
            overrides,
            dns: DnsCache::new(dns),
        }
    }

    /// The policy every address is judged by.
    pub fn policy(&self) -> &AddressPolicy {
        &self.policy
    }

    /// System resolver calls made and cached answers used so far.
    pub fn dns_counts(&self) -> DnsCounts {
        self.dns.counts()
    }

    /// The addresses of `host` a delivery may connect to (empty when none is allowed). A
    /// confined policy knows only IP literals, `localhost` and the overrides, without a
    /// lookup.
    pub async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let allowed = |ips: &[IpAddr]| -> Vec<SocketAddr> {
            ips.iter()
                .filter(|ip| self.policy.allows(**ip))
                .map(|ip| SocketAddr::new(*ip, port))
                .collect()
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(allowed(&[ip]));
        }
        if let Some(ips) = self.overrides.get(host) {
            return Ok(allowed(ips));
        }
        if self.policy.allowed_only {
            if host.eq_ignore_ascii_case("localhost") {
                return Ok(allowed(&[
                    IpAddr::from([127, 0, 0, 1]),
                    IpAddr::from(Ipv6Addr::LOCALHOST),
                ]));
            }
            return Ok(Vec::new());
        }
        Ok(allowed(&self.dns.lookup(host).await?))
    }
}

/// A resolver for the pooled client that drops the addresses the policy forbids, and fails
/// when none is left.
pub struct GuardedResolver {
    guard: Arc<Guard>,
}

impl GuardedResolver {
    /// A resolver looking names up through `guard`.
    pub fn new(guard: Arc<Guard>) -> Self {
        Self { guard }
    }
}

/// Every address a name resolved to is forbidden by the policy.
#[derive(Debug, thiserror::Error)]
#[error("address not allowed: {0} resolves only to private, loopback or link-local addresses")]
pub struct Forbidden(pub String);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = guard.lookup(&host, 0).await?;
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
        let confined = Guard::from(confined);
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
        let resolver = GuardedResolver::new(Arc::new(Guard::from(AddressPolicy {
            allow_all: false,
            allowed: vec![],
            allowed_only: false,
        })));
        let name: Name = "localhost".parse().expect("name");
        let err = resolver.resolve(name).await.err().expect("refused");
        assert!(err.to_string().contains("not allowed"), "{err}");
    }

    fn policy(allow_all: bool) -> AddressPolicy {
        AddressPolicy {
            allow_all,
            allowed: vec![],
            allowed_only: false,
        }
    }

    #[tokio::test]
    async fn overrides_answer_without_a_lookup_and_the_policy_still_judges_them() {
        let overrides =
            HostOverrides::parse(&["*.bench.test=127.0.0.1", "pub.test=93.184.216.34"]).unwrap();
        let production = Guard::new(policy(false), overrides.clone(), DnsSettings::default());
        let refused = production.lookup("h1.bench.test", 443).await.unwrap();
        assert!(
            refused.is_empty(),
            "loopback is refused however it was named"
        );
        assert_eq!(
            production.lookup("pub.test", 443).await.unwrap(),
            [SocketAddr::from(([93, 184, 216, 34], 443))]
        );
        let dev = Guard::new(policy(true), overrides, DnsSettings::default());
        assert_eq!(
            dev.lookup("H7.Bench.test", 8443).await.unwrap(),
            [SocketAddr::from(([127, 0, 0, 1], 8443))]
        );
        assert_eq!(production.dns_counts().lookups, 0);
        assert_eq!(dev.dns_counts().lookups, 0);
    }

    #[tokio::test]
    async fn a_cached_answer_is_judged_again_on_every_use() {
        let production = Guard::from(policy(false));
        for _ in 0..3 {
            let found = production.lookup("localhost", 80).await.unwrap();
            assert!(found.is_empty(), "{found:?}");
        }
        let counts = production.dns_counts();
        assert_eq!((counts.lookups, counts.hits), (1, 2));
    }
}
