//! `verify` with `Scheme::HmacSha256` (arbitrary header name, prefix and encoding) on arbitrary
//! headers, body and secrets: never panics. What `sign` emits verifies, and stops verifying when
//! a body byte changes.

#![no_main]

mod common;

use arbitrary::Arbitrary;
use hookrelay_signature::{Encoding, Scheme, VerifyError, VerifyOptions, sign};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    header: &'a str,
    prefix: &'a str,
    base64: bool,
    secrets: Vec<&'a str>,
    value: Option<&'a str>,
    /// Headers placed before the signature: other names, case variants, duplicates.
    extra: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
    now: i64,
    header_map: bool,
    /// When set, also sign for real and check the result.
    round_trip: Option<usize>,
}

fuzz_target!(|input: Input<'_>| {
    let scheme = Scheme::HmacSha256 {
        header: input.header.to_owned(),
        encoding: if input.base64 {
            Encoding::Base64
        } else {
            Encoding::Hex
        },
        prefix: input.prefix.to_owned(),
    };
    let secrets = common::secrets(&scheme, &input.secrets);
    let opts = VerifyOptions::at(input.now);

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
        assert_eq!((verified.msg_id, verified.timestamp), (None, None));
    }

    let (Some(flip), false) = (input.round_trip, secrets.is_empty()) else {
        return;
    };
    let signed = sign(&scheme, &secrets, "msg_unused", input.now, input.body);
    let Some(value) = signed.get(input.header) else {
        panic!("sign did not emit {:?}: {signed:?}", input.header);
    };
    let headers = [(input.header, value)];
    let verified = common::verify_pairs(&scheme, &secrets, &headers, input.body, &opts, false);
    assert!(verified.is_ok(), "{verified:?}");
    if !input.body.is_empty() {
        let mut tampered = input.body.to_vec();
        let at = flip % tampered.len();
        tampered[at] ^= 1;
        let result = common::verify_pairs(&scheme, &secrets, &headers, &tampered, &opts, false);
        assert_eq!(result, Err(VerifyError::NoMatchingSignature));
    }
});
