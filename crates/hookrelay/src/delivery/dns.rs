//! The delivery path's name lookups: the `resolve` overrides first, then a bounded cache in
//! front of the system resolver (`getaddrinfo`). It answers names with every address found;
//! the address guard (`guard.rs`) filters them on every use, cached or not, so a cached answer
//! can never carry an address past a policy.
//!
//! Why `getaddrinfo` with a fixed lifetime rather than a DNS client that reads TTLs (hickory):
//! the system resolver keeps what operators configure (`/etc/hosts`, `nsswitch.conf`, search
//! domains, a local caching resolver such as systemd-resolved, nscd or a cluster's node-local
//! DNS, which honour the records' TTLs themselves), and hickory-resolver would add its own
//! stack (hickory-proto, hickory-net, moka, a second `rand`) to every build. What
//! `getaddrinfo` does not say is the TTL, so an answer is kept for a fixed [`DnsSettings::ttl`]
//! (`dns_cache_seconds`, 30 s by default): no staler than what a kept-alive connection already
//! is (a connection keeps the address it was opened to for up to
//! `connection_idle_timeout_seconds`, 50 s by default, whatever the record's TTL), and short
//! enough that a failover is followed within half a minute.
//!
//! What the cache saves: a host's slots each resolve as they open their connections, and
//! thousands of hosts each reconnect as idle connections close; each lookup is a blocking call
//! on one of tokio's blocking threads (plus, without a local caching resolver, a round trip to
//! the DNS server). Concurrent lookups of one name share one call, at most
//! [`MAX_CONCURRENT_LOOKUPS`] calls run at once (each holds a blocking thread, with its stack
//! and allocator heap, for as long as a slow resolver takes), and a failed lookup is kept
//! [`NEGATIVE_TTL`] so a name that does not resolve is not asked for again by every retry.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OnceCell, Semaphore};

/// How long a failed lookup is remembered: long enough that a burst of deliveries to a name
/// that does not resolve makes one lookup, short enough that a name just created is found by
/// the next retry.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(5);

/// Lookups running at once, across every name. Each holds one of tokio's blocking threads
/// for as long as the resolver takes (seconds when a DNS server does not answer); 2,000 new
/// hosts at once would otherwise start hundreds of threads, each with its stack and allocator
/// heap, for work a few threads do as fast when the resolver answers from its cache.
pub const MAX_CONCURRENT_LOOKUPS: usize = 16;

/// How names are cached.
#[derive(Clone, Copy, Debug)]
pub struct DnsSettings {
    /// How long a found answer is used (0: not cached, every connection looks its name up).
    pub ttl: Duration,
    /// Names kept at most; when full, expired answers go first, then those expiring soonest.
    pub capacity: usize,
}

impl Default for DnsSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            capacity: 4096,
        }
    }
}

/// A lookup's answer as cached: the addresses, or why there are none (the error's kind and
/// text, kept so every caller sharing a failed lookup gets the same error).
#[derive(Clone, Debug)]
struct Answer {
    found: Result<Arc<[IpAddr]>, (io::ErrorKind, Arc<str>)>,
    expires: Instant,
}

/// One name's answer, or the lookup that will give it, shared by everyone asking meanwhile.
#[derive(Default)]
struct Entry {
    answer: OnceCell<Answer>,
}

impl Entry {
    /// Whether the answer is there and past its lifetime (a pending lookup is not expired).
    fn expired(&self, now: Instant) -> bool {
        self.answer.get().is_some_and(|a| a.expires <= now)
    }

    /// When the answer expires; a pending lookup sorts last (it is about to be fresh).
    fn expires(&self) -> Option<Instant> {
        self.answer.get().map(|a| a.expires)
    }
}

/// Lookups and their counts, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsCounts {
    /// Calls made to the system resolver.
    pub lookups: u64,
    /// Answers given from the cache (or from a lookup another caller had started).
    pub hits: u64,
}

/// A bounded cache of the system resolver's answers.
pub struct DnsCache {
    settings: DnsSettings,
    entries: Mutex<HashMap<Box<str>, Arc<Entry>>>,
    running: Semaphore,
    counts: Mutex<DnsCounts>,
}

impl DnsCache {
    /// An empty cache.
    pub fn new(settings: DnsSettings) -> Self {
        Self {
            settings,
            entries: Mutex::default(),
            running: Semaphore::new(MAX_CONCURRENT_LOOKUPS),
            counts: Mutex::default(),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Box<str>, Arc<Entry>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, f: impl FnOnce(&mut DnsCounts)) {
        f(&mut self.counts.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Lookups made and answers reused so far.
    pub fn counts(&self) -> DnsCounts {
        *self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Names cached now (fresh or not yet swept).
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The addresses of `host` (a name, not an IP literal), from the cache while its answer
    /// is fresh, else from the system resolver.
    pub async fn lookup(&self, host: &str) -> io::Result<Arc<[IpAddr]>> {
        self.lookup_at(host, Instant::now()).await
    }

    /// [`DnsCache::lookup`] as of `now` (tests move it on instead of waiting).
    async fn lookup_at(&self, host: &str, now: Instant) -> io::Result<Arc<[IpAddr]>> {
        let entry = self.entry(host, now);
        let mut started = false;
        let answer = entry
            .answer
            .get_or_init(|| {
                started = true;
                self.resolve(host, now)
            })
            .await;
        if !started {
            self.count(|c| c.hits += 1);
        }
        match &answer.found {
            Ok(ips) => Ok(ips.clone()),
            Err((kind, text)) => Err(io::Error::new(*kind, text.to_string())),
        }
    }

    /// `host`'s entry: the cached one while fresh (or while its lookup runs), else a new one
    /// in its place.
    fn entry(&self, host: &str, now: Instant) -> Arc<Entry> {
        let mut entries = self.entries();
        if let Some(entry) = entries.get(host)
            && !entry.expired(now)
        {
            return entry.clone();
        }
        let entry = Arc::new(Entry::default());
        if self.settings.ttl.is_zero() {
            return entry;
        }
        if entries.len() >= self.settings.capacity && !entries.contains_key(host) {
            evict(&mut entries, now);
        }
        entries.insert(Box::from(host), entry.clone());
        entry
    }

    /// Asks the system resolver, at most [`MAX_CONCURRENT_LOOKUPS`] at once; the answer's
    /// lifetime counts from `asked` (a slow lookup does not lengthen it).
    async fn resolve(&self, host: &str, asked: Instant) -> Answer {
        let _permit = self.running.acquire().await;
        self.count(|c| c.lookups += 1);
        let found = match tokio::net::lookup_host((host, 0)).await {
            Ok(addrs) => {
                let mut ips: Vec<IpAddr> = Vec::new();
                for addr in addrs {
                    // getaddrinfo answers once per socket type unless told otherwise.
                    if !ips.contains(&addr.ip()) {
                        ips.push(addr.ip());
                    }
                }
                Ok(Arc::from(ips))
            }
            Err(e) => Err((e.kind(), Arc::from(e.to_string()))),
        };
        let ttl = if found.is_ok() {
            self.settings.ttl
        } else {
            NEGATIVE_TTL.min(self.settings.ttl)
        };
        Answer {
            found,
            expires: asked + ttl,
        }
    }
}

/// Makes room for one entry: drops every expired answer and, if none was, the one expiring
/// soonest. Runs only on a miss with the cache full, which costs a lookup anyway (a scan of a
/// few thousand entries is microseconds beside it).
fn evict(entries: &mut HashMap<Box<str>, Arc<Entry>>, now: Instant) {
    let before = entries.len();
    entries.retain(|_, e| !e.expired(now));
    if entries.len() < before {
        return;
    }
    let soonest = entries
        .iter()
        .filter_map(|(name, e)| Some((e.expires()?, name)))
        .min()
        .map(|(_, name)| name.clone());
    match soonest {
        Some(name) => entries.remove(&name),
        // Every entry is a lookup in flight: drop any, its callers keep their own handle.
        None => {
            let any = entries.keys().next().cloned();
            any.and_then(|name| entries.remove(&name))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn cache(ttl_ms: u64, capacity: usize) -> DnsCache {
        DnsCache::new(DnsSettings {
            ttl: Duration::from_millis(ttl_ms),
            capacity,
        })
    }

    #[tokio::test]
    async fn an_answer_is_reused_until_it_expires() {
        let dns = cache(30_000, 16);
        let t0 = Instant::now();
        let first = dns.lookup_at("localhost", t0).await.expect("resolves");
        assert!(first.iter().any(IpAddr::is_loopback), "{first:?}");
        let again = dns.lookup_at("localhost", t0 + secs(29)).await;
        assert_eq!(first, again.expect("cached"));
        assert_eq!(
            dns.counts(),
            DnsCounts {
                lookups: 1,
                hits: 1
            }
        );
        let late = dns.lookup_at("localhost", t0 + secs(30)).await;
        late.expect("looked up again");
        assert_eq!(
            dns.counts(),
            DnsCounts {
                lookups: 2,
                hits: 1
            }
        );
    }

    #[tokio::test]
    async fn a_failed_lookup_is_kept_briefly() {
        let dns = cache(30_000, 16);
        // Refused before any query is sent (no test may send DNS traffic off this machine).
        let name = "no\0such-host";
        let t0 = Instant::now();
        let first = dns.lookup_at(name, t0).await.expect_err("does not resolve");
        let again = dns.lookup_at(name, t0 + secs(4)).await;
        assert_eq!(first.to_string(), again.expect_err("still not").to_string());
        assert_eq!(
            dns.counts(),
            DnsCounts {
                lookups: 1,
                hits: 1
            }
        );
        let late = dns.lookup_at(name, t0 + NEGATIVE_TTL).await;
        late.expect_err("asked again");
        assert_eq!(dns.counts().lookups, 2);
    }

    #[tokio::test]
    async fn concurrent_lookups_of_one_name_share_one_call() {
        let dns = Arc::new(cache(30_000, 16));
        let lookups: Vec<_> = (0..8)
            .map(|_| {
                let dns = dns.clone();
                tokio::spawn(async move { dns.lookup("localhost").await.is_ok() })
            })
            .collect();
        for lookup in lookups {
            assert!(lookup.await.expect("joined"));
        }
        assert_eq!(
            dns.counts(),
            DnsCounts {
                lookups: 1,
                hits: 7
            }
        );
    }

    #[tokio::test]
    async fn the_cache_holds_at_most_its_capacity_dropping_the_oldest_first() {
        let dns = cache(30_000, 2);
        let t0 = Instant::now();
        dns.lookup_at("localhost", t0).await.expect("resolves");
        let t1 = t0 + secs(1);
        dns.lookup_at("a\0", t1)
            .await
            .expect_err("negative: expires first");
        dns.lookup_at("b\0", t1).await.expect_err("evicts a");
        assert_eq!(dns.len(), 2);
        dns.lookup_at("localhost", t1).await.expect("still cached");
        assert_eq!(
            dns.counts(),
            DnsCounts {
                lookups: 3,
                hits: 1
            }
        );
        dns.lookup_at("a\0", t1)
            .await
            .expect_err("evicted, asked again");
        assert_eq!(dns.counts().lookups, 4);
        assert_eq!(dns.len(), 2);
    }

    #[tokio::test]
    async fn a_zero_ttl_caches_nothing() {
        let dns = cache(0, 16);
        dns.lookup("localhost").await.expect("resolves");
        dns.lookup("localhost").await.expect("resolves");
        assert_eq!(
            dns.counts(),
            DnsCounts {
                lookups: 2,
                hits: 0
            }
        );
        assert!(dns.is_empty());
    }
}
