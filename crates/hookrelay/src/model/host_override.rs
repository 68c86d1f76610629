//! The `resolve` setting: host names whose addresses come from the configuration instead of
//! DNS, as curl's `--resolve` and a hosts file give them. For tests, benchmarks and development
//! (thousands of names on one loopback receiver, a staging host that is not in DNS yet). An
//! overridden address is still only an answer: the delivery guard judges it on every use as it
//! judges DNS's, so an override cannot open a private address that production refuses.
//!
//! An entry is `name=ip`; `*.name=ip` matches every name ending in `.name` (any depth, not
//! `name` itself). Several entries for one name give it several addresses, tried in order.
//! An exact name wins over a wildcard, and a longer wildcard over a shorter one.

use std::net::IpAddr;

/// Names resolved by configuration, each to its addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostOverrides {
    /// Exact names (lowercase) and their addresses.
    exact: Vec<(String, Vec<IpAddr>)>,
    /// Wildcard suffixes (lowercase, with their leading dot), longest first.
    suffixes: Vec<(String, Vec<IpAddr>)>,
}

impl HostOverrides {
    /// Parses every `name=ip` entry; an error names the entry and what is wrong with it.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let mut overrides = Self::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            let (name, ip) = entry
                .split_once('=')
                .ok_or_else(|| format!("{entry:?} is not name=ip (e.g. \"*.test=127.0.0.1\")"))?;
            let ip = ip.trim();
            let ip: IpAddr = ip
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| format!("{entry:?}: {ip:?} is not an IP address"))?;
            let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
            // A wildcard keeps its leading dot, so `*.test` never matches `xtest`.
            let (wildcard, key) = match name.strip_prefix('*') {
                Some(suffix) => (true, suffix.to_owned()),
                None => (false, name.clone()),
            };
            let bare = match key.strip_prefix('.') {
                Some(bare) if wildcard => bare,
                _ if wildcard => "",
                _ => &key,
            };
            let valid = !bare.is_empty()
                && bare.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                });
            if !valid {
                return Err(format!(
                    "{entry:?}: {name:?} is not a host name or *.suffix"
                ));
            }
            let list = if wildcard {
                &mut overrides.suffixes
            } else {
                &mut overrides.exact
            };
            match list.iter_mut().find(|(k, _)| *k == key) {
                Some((_, ips)) => ips.push(ip),
                None => list.push((key, vec![ip])),
            }
        }
        overrides
            .suffixes
            .sort_by_key(|(suffix, _)| std::cmp::Reverse(suffix.len()));
        Ok(overrides)
    }

    /// Whether there is no override at all.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.suffixes.is_empty()
    }

    /// How many names and wildcards are overridden.
    pub fn len(&self) -> usize {
        self.exact.len() + self.suffixes.len()
    }

    /// The configured addresses of `host`, if it is overridden. `host` is compared without
    /// regard to ASCII case and a trailing dot.
    pub fn get(&self, host: &str) -> Option<&[IpAddr]> {
        if self.is_empty() {
            return None;
        }
        let host = host.trim_end_matches('.');
        let exact = self
            .exact
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(host));
        let found = exact.or_else(|| {
            self.suffixes.iter().find(|(suffix, _)| {
                host.len() > suffix.len()
                    && host
                        .get(host.len() - suffix.len()..)
                        .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
            })
        });
        found.map(|(_, ips)| ips.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn exact_names_beat_wildcards_and_longer_wildcards_beat_shorter() {
        let o = HostOverrides::parse(&[
            "*.test=127.0.0.1",
            "*.bench.test=127.0.0.2",
            "api.bench.test=127.0.0.3",
            "api.bench.test=::1",
            "Staging.Example.com.=[::1]",
        ])
        .expect("parses");
        assert_eq!(o.len(), 4);
        assert_eq!(o.get("h1.bench.test"), Some(&[ip("127.0.0.2")][..]));
        assert_eq!(o.get("a.b.BENCH.test."), Some(&[ip("127.0.0.2")][..]));
        assert_eq!(
            o.get("api.bench.test"),
            Some(&[ip("127.0.0.3"), ip("::1")][..])
        );
        assert_eq!(o.get("other.test"), Some(&[ip("127.0.0.1")][..]));
        assert_eq!(o.get("staging.example.com"), Some(&[ip("::1")][..]));
        // A wildcard matches below its name, not the name itself, nor a mere suffix of text.
        assert_eq!(o.get("test"), None);
        assert_eq!(o.get("bench.test"), Some(&[ip("127.0.0.1")][..]));
        assert_eq!(o.get("xtest"), None);
        assert_eq!(o.get("example.com"), None);
    }

    #[test]
    fn malformed_entries_are_refused_naming_them() {
        for bad in [
            "no-equals",
            "a.test=not-an-ip",
            "=127.0.0.1",
            "*=127.0.0.1",
            "*.=127.0.0.1",
            "*test=127.0.0.1",
            "a..b=127.0.0.1",
            "a b=127.0.0.1",
            "a.*.b=127.0.0.1",
        ] {
            let err = HostOverrides::parse(&[bad]).expect_err(bad);
            assert!(err.contains(bad), "{bad}: {err}");
        }
        assert!(HostOverrides::parse::<&str>(&[]).expect("empty").is_empty());
    }
}
