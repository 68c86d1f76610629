//! Identifier newtypes. Generated ids are a short type prefix plus a ULID, so they sort by creation
//! time: cursor pagination pages by id alone. No bare `String` id crosses a module line.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// ULIDs made in the same millisecond are ordered too (monotonic within the process), so
/// objects list in the order they were created.
static ULIDS: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());

fn next_ulid() -> ulid::Ulid {
    let mut generator = ULIDS.lock().unwrap_or_else(PoisonError::into_inner);
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
}

/// Whether `u` is a ULID as `Ulid::to_string` writes it (the parser also takes lower case).
fn is_canonical_ulid(u: &str) -> bool {
    const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    u.len() == 26 && u.as_bytes()[0] <= b'7' && u.bytes().all(|b| CROCKFORD.contains(&b))
}

/// Defines a prefixed, generated identifier type (svix's `create_id_type!`).
macro_rules! generated_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A new, unique, time-ordered id.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, next_ulid()))
            }

            /// The smallest id generated at or after `ms` (unix milliseconds): ids sort by
            /// creation time, so `id >= lower_bound(t)` selects those created since `t`.
            pub fn lower_bound(ms: i64) -> Self {
                Self(format!("{}{}", $prefix, ulid::Ulid::from_parts(ms.max(0) as u64, 0)))
            }

            /// When the id `s` of this kind was made (unix ms), if it is one.
            pub fn timestamp_of(s: &str) -> Option<i64> {
                let u = ulid::Ulid::from_string(s.strip_prefix($prefix)?).ok()?;
                i64::try_from(u.timestamp_ms()).ok()
            }

            /// Whether `s` has the shape of an id of this kind (the prefix and a ULID), as a list's
            /// `next_cursor` does.
            /// Exactly as generated: 26 upper-case Crockford base32 digits, the first at most `7`
            /// (128 bits), so the document can state the shape as a pattern.
            pub fn is_well_formed(s: &str) -> bool {
                s.strip_prefix($prefix).is_some_and(is_canonical_ulid)
            }

            /// Wraps an id read from storage or from a request path; unknown ids simply match nothing.
            pub fn from_trusted(s: impl Into<String>) -> Self {
                Self(s.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        // Hashes and compares as its text, so maps keyed by id can be probed with a `&str`.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

generated_id!(
    /// A webhook (endpoint subscription).
    WebhookId,
    "wh_"
);
generated_id!(
    /// One event delivered to one webhook.
    DeliveryId,
    "dlv_"
);
generated_id!(
    /// One HTTP request of a delivery.
    AttemptId,
    "att_"
);
generated_id!(
    /// An API key's public identifier (the key itself is only ever shown once).
    KeyId,
    "key_"
);

/// An event id: generated (`evt_…`) or chosen by the publisher for idempotency.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    /// A new, unique, time-ordered event id.
    pub fn generate() -> Self {
        Self(format!("evt_{}", next_ulid()))
    }

    /// Accepts a publisher-chosen id: 1..=255 characters of `[A-Za-z0-9_.:-]`.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() || s.len() > 255 {
            return Err("must be 1 to 255 characters");
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
        {
            return Err("may contain only letters, digits, '_', '-', '.' and ':'");
        }
        Ok(Self(s.to_owned()))
    }

    /// Wraps an id read from storage.
    pub fn from_trusted(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant id, chosen by the operator: 1..=64 characters of `[A-Za-z0-9_-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// The tenant that always exists, and that an admin key acts on by default.
    pub fn default_tenant() -> Self {
        Self("default".to_owned())
    }

    /// Accepts an operator-chosen id.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() || s.len() > 64 {
            return Err("must be 1 to 64 characters");
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        {
            return Err("may contain only letters, digits, '_' and '-'");
        }
        Ok(Self(s.to_owned()))
    }

    /// Wraps an id read from storage or a request path.
    pub fn from_trusted(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_sort_by_time() {
        let ids: Vec<WebhookId> = (0..1000).map(|_| WebhookId::generate()).collect();
        assert!(ids[0].as_str().starts_with("wh_"));
        assert!(WebhookId::is_well_formed(ids[0].as_str()));
        assert!(!WebhookId::is_well_formed("abc"));
        assert!(!WebhookId::is_well_formed("dlv_01JDZ3V6Q9X8Y7W6V5T4S3R2Q1"));
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ordered even within a millisecond"
        );
    }

    #[test]
    fn a_lower_bound_sorts_before_every_id_made_later() {
        let now = crate::clock::now_ms();
        let bound = DeliveryId::lower_bound(now - 1);
        let id = DeliveryId::generate();
        assert!(bound < id);
        assert!(DeliveryId::lower_bound(now + 60_000) > id);
        let at = DeliveryId::timestamp_of(id.as_str()).unwrap();
        assert!(at >= now - 1 && at <= crate::clock::now_ms());
        assert_eq!(
            DeliveryId::timestamp_of("wh_01M91J43QSVMKVZCERV0ZVK3TZ"),
            None
        );
    }

    #[test]
    fn publisher_event_ids_are_checked() {
        assert!(EventId::parse("order-123:v2").is_ok());
        assert!(EventId::parse("").is_err());
        assert!(EventId::parse("has space").is_err());
        assert!(EventId::parse(&"x".repeat(256)).is_err());
    }

    #[test]
    fn tenant_ids_are_checked() {
        assert!(TenantId::parse("acme_1").is_ok());
        assert!(TenantId::parse("a/b").is_err());
    }
}
