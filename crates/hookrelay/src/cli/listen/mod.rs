//! `hookrelay listen`: a local receiver for trying webhooks without a tunnel. It accepts POSTs
//! on any path, verifies each with the chosen scheme, prints one line per delivery (or one JSON
//! object with `--json`) and answers 200 for a good signature, 401 for a bad one, or whatever
//! `--status`, `--fail-rate` and `--delay` ask for, to try out retries.
//!
//! Everything it prints goes to stdout and is flushed at once, line by line, because people and
//! tests read it through pipes. The start line carries the real bound port (`--port 0` picks a
//! free one).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use clap::Args;
use hookrelay_signature::{Scheme, Secret, VerifyError, VerifyOptions, verify};
use serde_json::json;
use time::{OffsetDateTime, UtcOffset};
use tokio_util::sync::CancellationToken;

use super::verify::{SchemeArgs, SchemeName, parse_duration};

mod line;
use line::Delivery;

/// Largest body accepted: well above hookrelay's own 1 MiB event limit.
const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// How long requests still in flight (e.g. under `--delay`) may finish after Ctrl-C/SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// `hookrelay listen`: where to listen, how to verify, and how to misbehave.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Port to listen on; 0 picks a free one (printed on start).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[command(flatten)]
    scheme: SchemeArgs,
    /// hmac-sha256 / timestamped-key: the header carrying the signature
    /// [default: X-Webhook-Signature / Webhook-Signature]
    #[arg(long, value_name = "NAME")]
    header: Option<String>,
    /// Also print every header and the pretty-printed body.
    #[arg(long, short)]
    verbose: bool,
    /// Print one JSON object per delivery instead of a readable line.
    #[arg(long)]
    json: bool,
    /// Answer 500 to this fraction of deliveries not rejected for their signature, chosen at
    /// random (0.0 to 1.0).
    #[arg(long, value_name = "FRACTION", value_parser = parse_fraction, default_value_t = 0.0)]
    fail_rate: f64,
    /// Answer this status to every delivery not rejected for its signature.
    #[arg(long, value_name = "CODE", value_parser = parse_status)]
    status: Option<StatusCode>,
    /// Wait this long before answering (e.g. 500ms, 2s, 1m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    delay: Option<Duration>,
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err("expected a fraction from 0.0 to 1.0, e.g. 0.3".to_owned()),
    }
}

fn parse_status(s: &str) -> Result<StatusCode, String> {
    s.parse::<u16>()
        .ok()
        .filter(|code| (200..=599).contains(code))
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| "expected an HTTP status from 200 to 599".to_owned())
}

/// What the receiver knows, shared by every request.
struct Receiver {
    scheme: Scheme,
    scheme_name: SchemeName,
    secrets: Vec<Secret>,
    tolerance: Duration,
    verbose: bool,
    json: bool,
    fail_rate: f64,
    status: Option<StatusCode>,
    delay: Option<Duration>,
    /// The local UTC offset, read once before any thread starts (see [`run`]).
    offset: UtcOffset,
}

/// The outcome of checking one delivery's signature.
pub(super) enum Check {
    Ok,
    Bad(VerifyError),
    /// No `--secret` was given.
    Unchecked,
}

/// Runs `hookrelay listen` until Ctrl-C or SIGTERM. Exits 2 for bad flags, 1 when it cannot
/// bind.
pub fn run(args: ListenArgs) -> ExitCode {
    let receiver = match Receiver::from_args(&args) {
        Ok(receiver) => receiver,
        Err(usage) => {
            eprintln!("error: {usage}");
            return ExitCode::from(2);
        }
    };
    super::block_on(
        crate::config::default_worker_threads(),
        serve(args, receiver),
    )
}

impl Receiver {
    fn from_args(args: &ListenArgs) -> Result<Receiver, String> {
        let scheme = args.scheme.scheme(args.header.as_deref(), "--header")?;
        let secrets = args.scheme.secrets(&scheme)?;
        Ok(Receiver {
            scheme,
            scheme_name: args.scheme.scheme,
            secrets,
            tolerance: args.scheme.tolerance,
            verbose: args.verbose,
            json: args.json,
            fail_rate: args.fail_rate,
            status: args.status,
            delay: args.delay,
            // The C library's local time is unsound to read once threads exist, so `time`
            // refuses then; this runs before the runtime starts its workers.
            offset: UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC),
        })
    }

    fn check(&self, headers: &HeaderMap, body: &[u8]) -> Check {
        if self.secrets.is_empty() {
            return Check::Unchecked;
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let opts = VerifyOptions::at(now).with_tolerance(self.tolerance);
        match verify(&self.scheme, &self.secrets, headers, body, &opts) {
            Ok(_) => Check::Ok,
            Err(e) => Check::Bad(e),
        }
    }

    /// The status and a short body to answer with.
    fn answer(&self, check: &Check) -> (StatusCode, String) {
        if let Check::Bad(e) = check {
            return (
                StatusCode::UNAUTHORIZED,
                format!("invalid signature: {e}\n"),
            );
        }
        if self.fail_rate > 0.0 && rand::random::<f64>() < self.fail_rate {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "simulated failure (--fail-rate)\n".to_owned(),
            );
        }
        match self.status {
            Some(status) => (status, format!("status {} (--status)\n", status.as_u16())),
            None => (StatusCode::OK, "ok\n".to_owned()),
        }
    }
}

async fn serve(args: ListenArgs, receiver: Receiver) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    let address = listener.local_addr().context("reading the bound address")?;
    print_start(&receiver, address);
    let receiver = Arc::new(receiver);
    let app = Router::new()
        .fallback(receive)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(receiver);
    let token = CancellationToken::new();
    let server = axum::serve(listener, app).with_graceful_shutdown(token.clone().cancelled_owned());
    let stop = async {
        wait_for_signal().await;
        token.cancel();
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result.context("serving")?,
        () = stop => {}
    }
    Ok(())
}

fn print_start(receiver: &Receiver, address: SocketAddr) {
    let url = format!("http://{address}");
    let scheme = receiver.scheme_name.as_str();
    if receiver.json {
        emit(&json!({"listening": url, "scheme": scheme}).to_string());
    } else {
        emit(&format!("listening on {url} (scheme {scheme})"));
    }
    if receiver.secrets.is_empty() {
        eprintln!("no --secret given: signatures are not checked");
    }
}

/// Writes `text` and a newline to stdout as one block and flushes it. A closed stdout is not
/// worth failing a delivery for, so write errors are ignored.
fn emit(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "hookrelay listen accepts POST requests only\n",
        )
            .into_response();
    }
    let check = receiver.check(&headers, &body);
    let (status, answer) = receiver.answer(&check);
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let delivery = Delivery {
        time: OffsetDateTime::now_utc().to_offset(receiver.offset),
        path: &path,
        headers: &headers,
        body: &body,
        check: &check,
        status,
    };
    if receiver.json {
        emit(&delivery.to_json(receiver.verbose).to_string());
    } else {
        emit(&delivery.to_text(receiver.verbose));
    }
    if let Some(delay) = receiver.delay {
        tokio::time::sleep(delay).await;
    }
    (status, answer).into_response()
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
