//! `verify` with `Scheme::TimestampedKey` (`t=<unix>, v1=<hex>`, arbitrary header name) on
//! arbitrary headers, body, secrets and clock: never panics. What `sign` emits verifies at its
//! own timestamp, and stops verifying when a body byte changes.

#![no_main]

mod common;

use arbitrary::Arbitrary;
use hookrelay_signature::{Scheme, VerifyError, VerifyOptions, sign};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    header: &'a str,
    secrets: Vec<&'a str>,
    value: Option<&'a str>,
    /// Headers placed before the signature: other names, case variants, duplicates.
    extra: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
    now: i64,
    tolerance: Option<u64>,
    header_map: bool,
    /// When set, also sign for real at this timestamp and check the result.
    round_trip: Option<(i64, usize)>,
}

fuzz_target!(|input: Input<'_>| {
    let scheme = Scheme::TimestampedKey {
        header: input.header.to_owned(),
    };
    let secrets = common::secrets(&scheme, &input.secrets);
    let opts = common::options(input.now, input.tolerance);

    let mut headers = input.extra.clone();
    if let Some(value) = input.value {
        headers.push((input.header, value));
    }
    let result = common::verify_pairs(
        &scheme,
        &secrets,
        &headers,
        input.body,
        &opts,
        input.header_map,
    );
    if let Ok(verified) = result {
        assert_eq!(verified.msg_id, None);
        assert!(verified.timestamp.is_some());
    }

    let (Some((timestamp, flip)), false) = (input.round_trip, secrets.is_empty()) else {
        return;
    };
    let signed = sign(&scheme, &secrets, "msg_unused", timestamp, input.body);
    let Some(value) = signed.get(input.header) else {
        panic!("sign did not emit {:?}: {signed:?}", input.header);
    };
    let headers = [(input.header, value)];
    let opts = VerifyOptions::at(timestamp);
    let verified = common::verify_pairs(&scheme, &secrets, &headers, input.body, &opts, false);
    assert_eq!(verified.map(|v| v.timestamp), Ok(Some(timestamp)));
    if !input.body.is_empty() {
        let mut tampered = input.body.to_vec();
        let at = flip % tampered.len();
        tampered[at] ^= 1;
        let result = common::verify_pairs(&scheme, &secrets, &headers, &tampered, &opts, false);
        assert_eq!(result, Err(VerifyError::NoMatchingSignature));
    }
});
