//! Helpers shared by the fuzz targets.

#![allow(dead_code, reason = "each target uses a subset of these helpers")]

use std::time::Duration;

use hookrelay_signature::{Scheme, Secret, Verified, VerifyError, VerifyOptions, verify};

/// Parses every string the fuzzer offers as a secret, keeping those `Secret::new` accepts.
pub fn secrets(scheme: &Scheme, raw: &[&str]) -> Vec<Secret> {
    raw.iter()
        .filter_map(|s| Secret::new(scheme, s).ok())
        .collect()
}

/// Verification options from fuzzer-chosen values.
pub fn options(now: i64, tolerance: Option<u64>) -> VerifyOptions {
    match tolerance {
        Some(secs) => VerifyOptions::at(now).with_tolerance(Duration::from_secs(secs)),
        None => VerifyOptions::at(now).without_timestamp_check(),
    }
}

/// Runs `verify` over `headers`, either as a slice of pairs or (when `header_map` is set) as an
/// `http::HeaderMap` built from the same pairs, skipping names and values `http` rejects; also
/// formats any error, which must not panic either.
pub fn verify_pairs(
    scheme: &Scheme,
    secrets: &[Secret],
    headers: &[(&str, &str)],
    body: &[u8],
    opts: &VerifyOptions,
    header_map: bool,
) -> Result<Verified, VerifyError> {
    let result = if header_map {
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            let name = http::HeaderName::from_bytes(name.as_bytes());
            let value = http::HeaderValue::from_bytes(value.as_bytes());
            if let (Ok(name), Ok(value)) = (name, value) {
                map.append(name, value);
            }
        }
        verify(scheme, secrets, &map, body, opts)
    } else {
        verify(scheme, secrets, &headers, body, opts)
    };
    if let Err(e) = &result {
        let _ = e.to_string();
    }
    result
}
