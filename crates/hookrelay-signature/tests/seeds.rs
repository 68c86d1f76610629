//! Known-answer tests for each reference document in `/work/shared/seeds` (see DESIGN.md,
//! "The reference documents"). Each expected value is computed here the way the document's
//! receiver code does, and also pinned as a literal computed with Python's `hmac` module.

use hmac::{Hmac, Mac};
use hookrelay_signature::{Encoding, Scheme, Secret, VerifyOptions, sign, verify};
use sha2::Sha256;

/// What the documents' snippets do: HMAC-SHA256(key, msg), lowercase hex.
fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(e) => panic!("hmac key: {e}"),
    };
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

fn secret(scheme: &Scheme, s: &str) -> Vec<Secret> {
    match Secret::new(scheme, s) {
        Ok(secret) => vec![secret],
        Err(e) => panic!("secret {s:?}: {e}"),
    }
}

/// Signs, checks the single emitted header byte for byte, and checks that it verifies.
fn assert_signs_as(
    scheme: &Scheme,
    secret_str: &str,
    timestamp: i64,
    body: &[u8],
    header: (&str, &str),
) {
    let secrets = secret(scheme, secret_str);
    let headers = sign(scheme, &secrets, "evt_unused", timestamp, body);
    let emitted: Vec<(&str, &str)> = headers.iter().collect();
    assert_eq!(emitted, [header]);
    let verified = verify(
        scheme,
        &secrets,
        &[header],
        body,
        &VerifyOptions::at(timestamp),
    );
    assert!(verified.is_ok(), "{verified:?}");
}

/// 000: `X-Mavio-Signature: <hex>`, HMAC-SHA256 of the raw body with the secret.
#[test]
fn seed_000_mavio() {
    let scheme = Scheme::HmacSha256 {
        header: "X-Mavio-Signature".into(),
        encoding: Encoding::Hex,
        prefix: String::new(),
    };
    let secret = "mavio_secret_123";
    let body = br#"{"id":"evt_123","type":"meeting.completed","created_at":"2024-01-15T10:30:00Z","data":{"meeting_id":"m_1"}}"#;
    let expected = hmac_sha256_hex(secret.as_bytes(), body);
    // python3 -c 'import hmac,hashlib; print(hmac.new(b"mavio_secret_123", BODY, hashlib.sha256).hexdigest())'
    assert_eq!(
        expected,
        "4a5393bab475ab20e0b3e61d71e2712f3a1f5c587c37262528e1f889bda38f37"
    );
    assert_signs_as(
        &scheme,
        secret,
        1_705_314_600,
        body,
        ("X-Mavio-Signature", &expected),
    );
}

/// 001: `X-Webhook-Signature: sha256=<hex>` over the (already compact) JSON body, as
/// `crypto.createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex')`.
#[test]
fn seed_001_sha256_prefix() {
    let scheme = Scheme::HmacSha256 {
        header: "X-Webhook-Signature".into(),
        encoding: Encoding::Hex,
        prefix: "sha256=".into(),
    };
    let secret = "whk_secret_001";
    let body = br#"{"event":"recording.created","timestamp":"2024-01-15T10:00:00Z","data":{"recording":{"id":999,"title":"Test Recording","status":"new"}}}"#;
    let expected = format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), body));
    assert_eq!(
        expected,
        "sha256=9e3ea3a9efc0feaeae04e90112fec39d9e1d22ba713b6a8f4c5cf0687f64ae0e"
    );
    assert_signs_as(
        &scheme,
        secret,
        1_705_312_800,
        body,
        ("X-Webhook-Signature", &expected),
    );
}

/// 002: `Mave-Signature: t={signature_time}, v1={signature}` keyed with
/// `"{signature_time}.{webhook secret}"` over the raw body.
#[test]
fn seed_002_mave_timestamped_key() {
    let scheme = Scheme::TimestampedKey {
        header: "Mave-Signature".into(),
    };
    let secret = "mave_secret_abc";
    let t = 1_643_723_823;
    let body = br#"{"id":"j3bw2jWb6q7aWGwChsgR86","object":"event","data":{"created":1643723737,"embed_url":"","id":"k1iFD7h4rW","last_upload":null,"object":"video"},"type":"video.created","created":1643723823}"#;
    let key = format!("{t}.{secret}");
    let expected = format!("t={t}, v1={}", hmac_sha256_hex(key.as_bytes(), body));
    assert_eq!(
        expected,
        "t=1643723823, v1=235b3aa821f12f49fce05797c8470728cd94d0bb4e704796aa66c037917f6139"
    );
    assert_signs_as(&scheme, secret, t, body, ("Mave-Signature", &expected));
}

/// 003: the same scheme as 002; a secret long enough that `"<t>.<secret>"` exceeds the
/// 64-byte HMAC block (the key is then hashed).
#[test]
fn seed_003_mave_long_secret() {
    let scheme = Scheme::TimestampedKey {
        header: "Mave-Signature".into(),
    };
    let secret = "mave_whsec_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let t = 1_643_723_823;
    let body = br#"{"id":"j3bw2jWb6q7aWGwChsgR86","object":"event","data":{"created":1643723737,"duration":null,"id":"k1iFD7h4rW","last_upload":null,"name":null,"object":"video","poster_image":null,"size":null,"renditions":["sd","hd"]},"type":"video.created","created":1643723823}"#;
    let key = format!("{t}.{secret}");
    assert!(key.len() > 64);
    let expected = format!("t={t}, v1={}", hmac_sha256_hex(key.as_bytes(), body));
    assert_eq!(
        expected,
        "t=1643723823, v1=6d16e9b8c811e077592fedf58d1b5db060085a5011c412e42e9b8f42dd4a7591"
    );
    assert_signs_as(&scheme, secret, t, body, ("Mave-Signature", &expected));
}

/// 004: `X-MG-Signature: <hex_hmac_of_body>`, exactly as the Python/Go snippets:
/// `hmac.new(key=secret.encode(), msg=body, digestmod=hashlib.sha256).hexdigest()`.
#[test]
fn seed_004_meetgeek() {
    let scheme = Scheme::HmacSha256 {
        header: "X-MG-Signature".into(),
        encoding: Encoding::Hex,
        prefix: String::new(),
    };
    let secret = "mg-secret-xyz";
    // The document's example body, byte for byte (pretty-printed: the raw body is what counts).
    let body = b"{\n    \"message\": \"File analyzed successfully\",\n    \"meeting_id\": \"9433976b-cfa3-4373-9afb-eb0b7a5915df\"\n}";
    let expected = hmac_sha256_hex(secret.as_bytes(), body);
    assert_eq!(
        expected,
        "4b49907da90dcc544f6e019d68c026c82e8d9d8cc60b062abf1ed49c39257760"
    );
    assert_signs_as(&scheme, secret, 0, body, ("X-MG-Signature", &expected));
}

/// Base64 output for HMAC schemes is standard padded base64 of the same MAC.
#[test]
fn hmac_sha256_base64_encoding() {
    use base64::Engine as _;
    let scheme = Scheme::HmacSha256 {
        header: "X-Sig".into(),
        encoding: Encoding::Base64,
        prefix: "v1=".into(),
    };
    let body = b"hello";
    let mut mac = match Hmac::<Sha256>::new_from_slice(b"key") {
        Ok(mac) => mac,
        Err(e) => panic!("{e}"),
    };
    mac.update(body);
    let expected = format!(
        "v1={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    // python3 -c 'import hmac,hashlib,base64; print(base64.b64encode(hmac.new(b"key",b"hello",hashlib.sha256).digest()))'
    assert_eq!(expected, "v1=kwezuRXvtRcf8U2MtV+8x5jGwO8UVtZt7RpqpyOli3s=");
    assert_signs_as(&scheme, "key", 0, body, ("X-Sig", &expected));
}
