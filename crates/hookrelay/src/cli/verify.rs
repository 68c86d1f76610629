//! `hookrelay verify`: checks one captured delivery (headers given as flags, the raw body from
//! stdin or a file) and answers through its exit code: 0 `valid`, 1 `invalid: <reason>`, 2 for
//! a usage error.
//!
//! It also owns the flags that select a signature scheme and its secrets ([`SchemeArgs`]), which
//! `hookrelay listen` shares, so that both commands read a scheme exactly as a webhook's
//! `signature` setting describes it.

use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use hookrelay_signature::{
    Encoding, Scheme, Secret, SecretKind, VerifyError, VerifyOptions, verify,
};

/// The exit code for a usage error, as clap uses it.
const USAGE_ERROR: u8 = 2;

/// A signature scheme by the name a webhook's `signature.scheme` uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemeName {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` (whsec_ secrets).
    #[value(name = "standard-webhooks")]
    StandardWebhooks,
    /// The same headers with `v1a,<base64>` Ed25519 signatures (whpk_ public keys).
    #[value(name = "standard-webhooks-v1a")]
    StandardWebhooksV1a,
    /// HMAC-SHA256 of the raw body in one header, optionally prefixed.
    #[value(name = "hmac-sha256")]
    HmacSha256,
    /// `t=<unix>, v1=<hex>`, keyed with `"<t>.<secret>"`.
    #[value(name = "timestamped-key")]
    TimestampedKey,
}

impl SchemeName {
    /// The name as written on the command line and in webhook settings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StandardWebhooks => "standard-webhooks",
            Self::StandardWebhooksV1a => "standard-webhooks-v1a",
            Self::HmacSha256 => "hmac-sha256",
            Self::TimestampedKey => "timestamped-key",
        }
    }
}

/// How an `hmac-sha256` signature is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EncodingName {
    /// Lowercase hexadecimal.
    Hex,
    /// Standard base64.
    Base64,
}

/// The scheme flags `listen` and `verify` share. The signature-header flag is not here: it is
/// `--header` for `listen` but `--signature-header` for `verify`, whose `--header` is a captured
/// request header.
#[derive(Debug, Args)]
pub struct SchemeArgs {
    /// Signing secret (standard-webhooks: whsec_…, or a whpk_… public key for v1a signatures);
    /// repeat it during a rotation (any one may match).
    #[arg(long = "secret", value_name = "SECRET")]
    pub secrets: Vec<String>,
    /// Signature scheme, as in a webhook's `signature.scheme`.
    #[arg(long, value_enum, default_value_t = SchemeName::StandardWebhooks)]
    pub scheme: SchemeName,
    /// hmac-sha256 only: how the MAC is written [default: hex]
    #[arg(long, value_enum)]
    pub encoding: Option<EncodingName>,
    /// hmac-sha256 only: text before the MAC, e.g. `sha256=` [default: none]
    #[arg(long, value_name = "TEXT")]
    pub prefix: Option<String>,
    /// Largest distance between a signed timestamp and now (e.g. 300s, 5m, 1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub tolerance: Duration,
}

impl SchemeArgs {
    /// The scheme the flags describe. `header` is the signature header's name (given with the
    /// flag `header_flag`), which only `hmac-sha256` and `timestamped-key` take; its defaults
    /// are a webhook's.
    pub fn scheme(&self, header: Option<&str>, header_flag: &str) -> Result<Scheme, String> {
        let only_hmac = |flag: &str| {
            format!(
                "{flag} applies only to --scheme hmac-sha256, not {}",
                self.scheme.as_str()
            )
        };
        if self.scheme != SchemeName::HmacSha256 {
            if self.encoding.is_some() {
                return Err(only_hmac("--encoding"));
            }
            if self.prefix.is_some() {
                return Err(only_hmac("--prefix"));
            }
        }
        if let Some(name) = header
            && http::HeaderName::from_bytes(name.as_bytes()).is_err()
        {
            return Err(format!(
                "{header_flag}: {name:?} is not a valid header name"
            ));
        }
        Ok(match self.scheme {
            SchemeName::StandardWebhooks | SchemeName::StandardWebhooksV1a => {
                if header.is_some() {
                    return Err(format!(
                        "{header_flag} applies only to --scheme hmac-sha256 or timestamped-key \
                         (standard-webhooks always uses webhook-signature)"
                    ));
                }
                Scheme::StandardWebhooks
            }
            SchemeName::HmacSha256 => Scheme::HmacSha256 {
                header: header.unwrap_or("X-Webhook-Signature").to_owned(),
                encoding: match self.encoding {
                    Some(EncodingName::Base64) => Encoding::Base64,
                    Some(EncodingName::Hex) | None => Encoding::Hex,
                },
                prefix: self.prefix.clone().unwrap_or_default(),
            },
            SchemeName::TimestampedKey => Scheme::TimestampedKey {
                header: header.unwrap_or("Webhook-Signature").to_owned(),
            },
        })
    }

    /// The `--secret`s parsed for `scheme`. Under `standard-webhooks` the key's prefix chooses
    /// `v1` (whsec_) or `v1a` (whpk_, whsk_); `standard-webhooks-v1a` insists on an Ed25519 key.
    pub fn secrets(&self, scheme: &Scheme) -> Result<Vec<Secret>, String> {
        self.secrets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let secret = Secret::new(scheme, s)
                    .map_err(|e| format!("--secret (number {}): {e}", i + 1))?;
                if self.scheme == SchemeName::StandardWebhooksV1a
                    && secret.kind() == SecretKind::Hmac
                {
                    return Err(format!(
                        "--secret (number {}): standard-webhooks-v1a verifies with the webhook's \
                         public key, \"whpk_\" followed by base64",
                        i + 1
                    ));
                }
                Ok(secret)
            })
            .collect()
    }
}

/// Parses `500ms`, `2s`, `1.5s`, `5m`, `1h`, or bare seconds (`30`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let seconds_per_unit = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?}; use ms, s, m or h (e.g. 2s)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 500ms, 2s or 1m"))?;
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .map_err(|_| format!("{s:?} is out of range"))
}

/// Parses a captured header line, `Name: value`.
fn parse_header_line(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| "expected `Name: value`".to_owned())?;
    let name = name.trim();
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!("{name:?} is not a valid header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// `hookrelay verify`: the captured request and how to check it.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    scheme: SchemeArgs,
    /// A captured request header, `Name: value`; repeat for each header.
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header_line)]
    headers: Vec<(String, String)>,
    /// hmac-sha256 / timestamped-key: the header carrying the signature
    /// [default: X-Webhook-Signature / Webhook-Signature]
    #[arg(long, value_name = "NAME")]
    signature_header: Option<String>,
    /// Read the raw body from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    body: Option<PathBuf>,
    /// Do not check how old the signed timestamp is (it must still be signed and valid).
    #[arg(long, conflicts_with = "tolerance")]
    no_timestamp_check: bool,
    /// Verify as if it were this time (unix seconds), for old captures.
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    now: Option<i64>,
}

/// Runs `hookrelay verify`: prints `valid` or `invalid: <reason>` and exits 0, 1, or 2 for a
/// usage error.
pub fn run(args: &VerifyArgs) -> ExitCode {
    match check(args) {
        Ok(Ok(msg_id)) => {
            match msg_id {
                Some(id) => println!("valid (id {id})"),
                None => println!("valid"),
            }
            ExitCode::SUCCESS
        }
        Ok(Err(reason)) => {
            println!("invalid: {reason}");
            ExitCode::FAILURE
        }
        Err(usage) => {
            eprintln!("error: {usage}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}

/// The verdict (`Ok` with the signed message id, or `Err` with the reason it is invalid), or a
/// usage error.
fn check(args: &VerifyArgs) -> Result<Result<Option<String>, String>, String> {
    if args.scheme.secrets.is_empty() {
        return Err("give the signing secret with --secret (repeat it for several)".to_owned());
    }
    let scheme = args
        .scheme
        .scheme(args.signature_header.as_deref(), "--signature-header")?;
    let secrets = args.scheme.secrets(&scheme)?;
    let body = read_body(args.body.as_ref())?;
    let now = args
        .now
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
    let mut opts = VerifyOptions::at(now).with_tolerance(args.scheme.tolerance);
    if args.no_timestamp_check {
        opts = opts.without_timestamp_check();
    }
    Ok(verify(&scheme, &secrets, &args.headers, &body, &opts)
        .map(|verified| verified.msg_id)
        .map_err(|e| explain(&e)))
}

/// The error's own precise text, plus how to fix the capture's usual mistakes.
fn explain(e: &VerifyError) -> String {
    match e {
        VerifyError::MissingHeader(name) => {
            format!("{e} (pass it as --header '{name}: <value>')")
        }
        VerifyError::TimestampOutOfTolerance { .. } => {
            format!("{e}; for an old capture pass --now <unix seconds> or --no-timestamp-check")
        }
        _ => e.to_string(),
    }
}

fn read_body(path: Option<&PathBuf>) -> Result<Vec<u8>, String> {
    match path {
        Some(path) => {
            std::fs::read(path).map_err(|e| format!("reading --body {}: {e}", path.display()))
        }
        None => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!(
                    "reading the raw body from stdin (end it with Ctrl-D), or pass --body FILE"
                );
            }
            let mut body = Vec::new();
            stdin
                .read_to_end(&mut body)
                .map_err(|e| format!("reading the body from stdin: {e}"))?;
            Ok(body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_or_without_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        for bad in ["", "s", "2x", "-1s", "1..2s", "ms5"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_lines_split_at_the_first_colon() {
        assert_eq!(
            parse_header_line("Mave-Signature: t=1, v1=ab:cd"),
            Ok(("Mave-Signature".to_owned(), "t=1, v1=ab:cd".to_owned()))
        );
        assert!(parse_header_line("no colon").is_err());
        assert!(parse_header_line("bad name: x").is_err());
        assert!(parse_header_line(": x").is_err());
    }
}
