//! `verify` with `Scheme::StandardWebhooks` on arbitrary `webhook-*` headers, body, secrets and
//! clock: never panics. A genuine signature hidden among arbitrary other entries of the
//! `webhook-signature` list still verifies, and stops verifying when a body byte changes.

#![no_main]

mod common;

use arbitrary::Arbitrary;
use hookrelay_signature::{
    Scheme, VerifyError, VerifyOptions, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, sign,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    secrets: Vec<&'a str>,
    id: Option<&'a str>,
    timestamp: Option<&'a str>,
    signature: Option<&'a str>,
    /// Headers placed before the real ones: other names, case variants, duplicates.
    extra: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
    now: i64,
    tolerance: Option<u64>,
    header_map: bool,
    /// When set, also sign for real at this timestamp and hide the signature in the list.
    round_trip: Option<RoundTrip<'a>>,
}

#[derive(Arbitrary, Debug)]
struct RoundTrip<'a> {
    timestamp: i64,
    before: &'a str,
    after: &'a str,
    flip: usize,
}

fuzz_target!(|input: Input<'_>| {
    let scheme = Scheme::StandardWebhooks;
    let secrets = common::secrets(&scheme, &input.secrets);
    let opts = common::options(input.now, input.tolerance);

    let mut headers = input.extra.clone();
    for (name, value) in [
        (WEBHOOK_ID, input.id),
        (WEBHOOK_TIMESTAMP, input.timestamp),
        (WEBHOOK_SIGNATURE, input.signature),
    ] {
        if let Some(value) = value {
            headers.push((name, value));
        }
    }
    let result = common::verify_pairs(
        &scheme,
        &secrets,
        &headers,
        input.body,
        &opts,
        input.header_map,
    );
    if let (Ok(verified), false) = (&result, input.header_map) {
        assert_eq!(
            verified.msg_id.as_deref(),
            headers_value(&headers, WEBHOOK_ID)
        );
    }

    let (Some(rt), Some(id), false) = (&input.round_trip, input.id, secrets.is_empty()) else {
        return;
    };
    let signed = sign(&scheme, &secrets, id, rt.timestamp, input.body);
    let (Some(timestamp), Some(signature)) =
        (signed.get(WEBHOOK_TIMESTAMP), signed.get(WEBHOOK_SIGNATURE))
    else {
        panic!("sign emitted no webhook-timestamp or webhook-signature: {signed:?}");
    };
    let list = format!("{} {signature} {}", rt.before, rt.after);
    let headers = [
        (WEBHOOK_ID, id),
        (WEBHOOK_TIMESTAMP, timestamp),
        (WEBHOOK_SIGNATURE, list.as_str()),
    ];
    let opts = VerifyOptions::at(rt.timestamp);
    let verified = common::verify_pairs(&scheme, &secrets, &headers, input.body, &opts, false);
    assert_eq!(
        verified.map(|v| (v.msg_id, v.timestamp)),
        Ok((Some(id.to_owned()), Some(rt.timestamp)))
    );
    if !input.body.is_empty() {
        let mut tampered = input.body.to_vec();
        let at = rt.flip % tampered.len();
        tampered[at] ^= 1;
        let result = common::verify_pairs(&scheme, &secrets, &headers, &tampered, &opts, false);
        assert_eq!(result, Err(VerifyError::NoMatchingSignature));
    }
});

/// The first value of `name`, as `verify` looks it up.
fn headers_value<'a>(headers: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}
