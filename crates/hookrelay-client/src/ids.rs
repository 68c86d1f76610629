//! Event ids made on the client, and the randomness behind them and the retry jitter.
//!
//! A publish without an id gets one here, before its first try, so that every retry carries
//! the same id and hookrelay stores the event at most once. The ids have the server's own
//! shape (`evt_` and a ULID: 48 bits of milliseconds, 80 random bits, Crockford base32), so
//! they sort by time like the ids it makes. The random bits come from the standard library's
//! randomly keyed SipHash over a counter and the time, which is plenty for uniqueness and
//! needs no random-number crate.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A fresh event id, `evt_` and a ULID, to publish with and retry under.
pub fn new_event_id() -> String {
    let random = u128::from(random_u64()) << 16 | u128::from(random_u64() as u16);
    format!("evt_{}", ulid(unix_ms(), random))
}

/// The 26 Crockford base32 digits of a ULID: the low 48 bits of `ms`, then the low 80 of
/// `random`. The first digit carries the top 3 of the 128 bits, so it is 0-7.
fn ulid(ms: u64, random: u128) -> String {
    let value = (u128::from(ms) & ((1 << 48) - 1)) << 80 | random & ((1 << 80) - 1);
    (0..26)
        .rev()
        .map(|digit| CROCKFORD[((value >> (digit * 5)) & 31) as usize] as char)
        .collect()
}

/// 64 unpredictable bits: a randomly keyed hash of a process-wide counter and the time.
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_have_the_servers_shape_and_do_not_repeat() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| new_event_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let ulid = id.strip_prefix("evt_").expect("prefix");
            assert_eq!(ulid.len(), 26, "{id}");
            // A canonical ULID starts with 0-7 (128 bits in 26 base32 digits).
            assert!(matches!(ulid.as_bytes()[0], b'0'..=b'7'), "{id}");
            assert!(ulid.bytes().all(|b| CROCKFORD.contains(&b)), "{id}");
        }
    }

    #[test]
    fn ulids_encode_time_first_so_they_sort_by_it() {
        assert_eq!(ulid(0, 0), "00000000000000000000000000");
        assert_eq!(ulid(u64::MAX, u128::MAX), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
        // The ULID spec's own example: 01ARYZ6S41 is 1469918176385 ms.
        assert!(ulid(1_469_918_176_385, 0).starts_with("01ARYZ6S41"));
        assert!(ulid(1, u128::MAX) < ulid(2, 0));
    }
}
