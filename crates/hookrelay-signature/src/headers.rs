//! Reading request headers on the receiving side.

use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::SignedHeaders;

/// Read access to request headers, for [`verify`](crate::verify).
///
/// Lookups compare names ASCII case-insensitively and return the first value found; values
/// that are not valid UTF-8 count as absent.
pub trait HeaderLookup {
    /// The value of header `name`, if present.
    fn header(&self, name: &str) -> Option<&str>;
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> HeaderLookup for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<S: BuildHasher> HeaderLookup for HashMap<String, String, S> {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name)
            .or_else(|| {
                self.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }
}

impl HeaderLookup for SignedHeaders {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name)
    }
}

#[cfg(feature = "http")]
impl HeaderLookup for http::HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }
}

impl<T: HeaderLookup + ?Sized> HeaderLookup for &T {
    fn header(&self, name: &str) -> Option<&str> {
        (**self).header(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_and_vecs_are_case_insensitive_first_match() {
        let pairs = [("Webhook-Id", "a"), ("webhook-id", "b")];
        assert_eq!(pairs.header("WEBHOOK-ID"), Some("a"));
        assert_eq!(pairs[..].header("missing"), None);
        let owned: Vec<(String, String)> = vec![("X-Sig".into(), "v".into())];
        assert_eq!(owned.header("x-sig"), Some("v"));
        assert_eq!(owned.as_slice().header("X-SIG"), Some("v"));
    }

    #[test]
    fn hash_map_is_case_insensitive() {
        let map: HashMap<String, String> = [("X-MG-Signature".to_owned(), "v".to_owned())].into();
        assert_eq!(map.header("X-MG-Signature"), Some("v"));
        assert_eq!(map.header("x-mg-signature"), Some("v"));
        assert_eq!(map.header("x-mg"), None);
    }

    #[cfg(feature = "http")]
    #[test]
    fn header_map_is_case_insensitive_and_skips_non_utf8() {
        let mut map = http::HeaderMap::new();
        map.insert("x-mavio-signature", http::HeaderValue::from_static("abc"));
        let opaque = http::HeaderValue::from_bytes(b"\xff\xfe").ok();
        if let Some(opaque) = opaque {
            map.insert("x-opaque", opaque);
        }
        assert_eq!(map.header("X-Mavio-Signature"), Some("abc"));
        assert_eq!(map.header("x-opaque"), None);
        assert_eq!(map.header("not a valid name"), None);
    }
}
