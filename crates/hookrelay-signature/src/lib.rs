//! Signing and verifying webhook requests.
//!
//! `hookrelay-signature` turns `(scheme, secrets, message id, timestamp, body)` into the headers
//! a delivery carries ([`sign`]) and checks such headers on the receiving side ([`verify`]).
//! It supports [Standard Webhooks](https://www.standardwebhooks.com/) (hookrelay's default),
//! with symmetric (`v1`, HMAC-SHA256, `whsec_` secrets) and asymmetric (`v1a`, Ed25519, `whsk_`
//! private and `whpk_` public keys) signatures, and the plain and timestamp-keyed HMAC-SHA256
//! headers of other platforms (see [`Scheme`]).
//!
//! The crate is pure: no I/O, no clock (callers pass the time), no randomness (callers pass the
//! bytes to [`generate_secret_string`] and [`generate_signing_key_string`]). MACs are compared
//! in constant time, and parsing never panics, whatever the headers hold.
//!
//! # Signing
//!
//! ```
//! use hookrelay_signature::{Scheme, Secret, sign};
//!
//! let scheme = Scheme::StandardWebhooks;
//! let secret = Secret::new(&scheme, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let body = br#"{"test": 2432232314}"#;
//! let headers = sign(&scheme, &[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
//!
//! assert_eq!(headers.get("webhook-timestamp"), Some("1614265330"));
//! assert_eq!(
//!     headers.get("webhook-signature"),
//!     Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
//! );
//! for (name, value) in &headers {
//!     // request = request.header(name, value);
//!     # let _ = (name, value);
//! }
//! # Ok::<(), hookrelay_signature::SecretError>(())
//! ```
//!
//! With an Ed25519 private key the same scheme signs `v1a`, and a receiver verifies with the
//! public key alone:
//!
//! ```
//! use hookrelay_signature::{Scheme, Secret, VerifyOptions, sign, verify};
//!
//! let scheme = Scheme::StandardWebhooks;
//! let private = Secret::new(&scheme, "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")?;
//! let body = br#"{"test": 2432232314}"#;
//! let headers = sign(&scheme, &[private], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
//! assert!(headers.get("webhook-signature").is_some_and(|s| s.starts_with("v1a,")));
//!
//! let public = Secret::new(&scheme, "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")?;
//! assert!(verify(&scheme, &[public], &headers, body, &VerifyOptions::at(1614265330)).is_ok());
//! # Ok::<(), hookrelay_signature::SecretError>(())
//! ```
//!
//! # Verifying
//!
//! ```
//! use hookrelay_signature::{Encoding, Scheme, Secret, VerifyError, VerifyOptions, verify};
//!
//! let scheme = Scheme::HmacSha256 {
//!     header: "X-Webhook-Signature".into(),
//!     encoding: Encoding::Hex,
//!     prefix: "sha256=".into(),
//! };
//! let secrets = [Secret::new(&scheme, "my-secret")?];
//! let body = br#"{"event":"meeting.created"}"#;
//! // Any `HeaderLookup`: slices or vectors of pairs, `HashMap`, `http::HeaderMap` (feature `http`).
//! let headers = [(
//!     "x-webhook-signature",
//!     "sha256=a5318dc2d62509334244c2a01c694195016cd0090169ca7fe7120aa95e76d5f4",
//! )];
//! // In a real receiver, `now` comes from `std::time::SystemTime::now()`; this scheme carries
//! // no timestamp, so it does not matter here.
//! let opts = VerifyOptions::at(1_700_000_000);
//!
//! assert!(verify(&scheme, &secrets, &headers, body, &opts).is_ok());
//! let tampered = br#"{"event":"meeting.deleted"}"#;
//! assert_eq!(
//!     verify(&scheme, &secrets, &headers, tampered, &opts),
//!     Err(VerifyError::NoMatchingSignature),
//! );
//! # Ok::<(), hookrelay_signature::SecretError>(())
//! ```
//!
//! # Receiving
//!
//! The receiver guide, `docs/receiving.md` (rendered as the module `guide` in these docs when
//! built with the `http` feature), shows each scheme verified in Rust, Python, Node and Go, and a
//! complete axum handler (`examples/axum_receiver.rs`) that verifies the raw body, answers 401
//! when verification fails, and deduplicates deliveries by event id. Its Rust code runs as
//! doctests.

mod ed25519;
mod headers;
mod mac;
mod scheme;
mod secret;
mod sign;
mod verify;

pub use ed25519::generate_signing_key_string;
pub use headers::HeaderLookup;
pub use scheme::{Encoding, Scheme, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};
pub use secret::{Secret, SecretError, SecretKind, generate_secret_string};
pub use sign::{HeadersIter, SignedHeaders, sign};
pub use verify::{DEFAULT_TOLERANCE, Verified, VerifyError, VerifyOptions, verify};

/// The receiver guide (`docs/receiving.md`): verifying hookrelay deliveries in Rust, Python, Node
/// and Go, and a complete axum receiver.
#[cfg(all(feature = "http", any(doc, doctest)))]
#[doc = include_str!("../../../docs/receiving.md")]
pub mod guide {}
