//! `hookrelay listen` and `hookrelay verify`, run as the real binary: hookrelay delivers to a
//! `listen` child process whose printed lines are checked, and `verify` checks captured
//! deliveries through its output and exit code.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hookrelay_signature::{Encoding, Scheme, Secret, generate_secret_string, sign};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::helpers::{Backend, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_hookrelay");
/// The longest any single line or exit is waited for.
const WAIT: Duration = Duration::from_secs(20);
/// The Standard Webhooks specification's test vector.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const VECTOR_TIMESTAMP: &str = "1614265330";
const VECTOR_BODY: &str = r#"{"test": 2432232314}"#;
const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

/// A `hookrelay listen` child process and the lines it prints.
pub(crate) struct Listener {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    /// The first line it printed.
    pub(crate) start: String,
    /// `http://127.0.0.1:PORT`, read from the start line.
    base_url: String,
}

impl Listener {
    /// Starts `hookrelay listen --port 0 <args>` and reads its start line.
    pub(crate) async fn spawn(args: &[&str]) -> Listener {
        let mut child = Command::new(BIN)
            .args(["listen", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("hookrelay listen starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut listener = Listener {
            child,
            lines,
            start: String::new(),
            base_url: String::new(),
        };
        let start = listener.next_line().await;
        listener.base_url = match serde_json::from_str::<Value>(&start) {
            Ok(json) => json["listening"].as_str().unwrap().to_owned(),
            Err(_) => start
                .strip_prefix("listening on ")
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_else(|| panic!("unexpected start line {start:?}"))
                .to_owned(),
        };
        listener.start = start;
        listener
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The next printed line, waited for at most `WAIT`.
    pub(crate) async fn next_line(&mut self) -> String {
        tokio::time::timeout(WAIT, self.lines.recv())
            .await
            .expect("hookrelay listen printed a line in time")
            .expect("hookrelay listen is still running")
    }

    /// The next printed line, as JSON.
    async fn next_json(&mut self) -> Value {
        let line = self.next_line().await;
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: not JSON: {line:?}"))
    }

    /// Sends SIGTERM and checks that it exits 0 in time.
    pub(crate) async fn stop(mut self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                assert!(status.success(), "listen exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "listen did not stop on SIGTERM");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Standard Webhooks secret other than [`SECRET`].
fn other_secret() -> String {
    generate_secret_string(&[9; 24])
}

/// The size of the envelope hookrelay sends for an event (`created_at` has a fixed width).
fn envelope_size(id: &str, event_type: &str, data: &Value) -> usize {
    json!({"id": id, "type": event_type, "created_at": "2026-01-01T00:00:00.000Z", "data": data})
        .to_string()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_prints_one_line_per_delivery_and_rejects_a_wrong_secret_with_401() {
    let mut listener = Listener::spawn(&["--secret", SECRET]).await;
    assert!(
        listener.start.ends_with("(scheme standard-webhooks)"),
        "{}",
        listener.start
    );
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let good = app
        .create_webhook(json!({
            "url": listener.url("/hooks"), "secret": SECRET, "events": ["meeting.*"],
        }))
        .await;
    let mut expected = Vec::new();
    for (n, event_type) in [(1, "meeting.started"), (2, "meeting.ended")] {
        let data = json!({"meeting_id": format!("m{n}"), "n": n});
        let e = app.publish(json!({"type": event_type, "data": data})).await;
        let id = e["id"].as_str().unwrap().to_owned();
        let size = envelope_size(&id, event_type, &data);
        expected.push((id, event_type, size));
    }
    let lines = [listener.next_line().await, listener.next_line().await];
    for (id, event_type, size) in &expected {
        let line = lines
            .iter()
            .find(|line| line.contains(id.as_str()))
            .unwrap_or_else(|| panic!("no line for {id} in {lines:?}"));
        let fields: Vec<&str> = line.split("  ").collect();
        assert_eq!(fields.len(), 7, "{line}");
        assert_eq!(fields[0].len(), "12:34:56.789".len(), "{line}");
        assert_eq!(fields[1], id);
        assert_eq!(fields[2], *event_type);
        assert_eq!(fields[3], "signature ok");
        assert_eq!(fields[4], format!("{size} bytes"));
        assert_eq!(fields[5], "/hooks");
        assert_eq!(fields[6], "-> 200");
    }
    let good_id = good["id"].as_str().unwrap();
    crate::helpers::eventually(WAIT, "both deliveries succeed", || async {
        let list = app.deliveries(good_id).await;
        list.len() == 2 && list.iter().all(|d| d["status"] == "succeeded")
    })
    .await;

    let bad = app
        .create_webhook(json!({
            "url": listener.url("/wrong"), "secret": other_secret(),
            "events": ["billing.*"], "retry_schedule": [],
        }))
        .await;
    app.publish(json!({"type": "billing.failed", "data": {}}))
        .await;
    let line = listener.next_line().await;
    assert!(
        line.contains("  billing.failed  signature BAD (no signature matches"),
        "{line}"
    );
    assert!(line.ends_with("  /wrong  -> 401"), "{line}");
    let d = app
        .wait_for_delivery(bad["id"].as_str().unwrap(), "failed")
        .await;
    assert_eq!(d["attempts"][0]["status_code"], 401, "{d}");

    listener.stop().await;
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_with_json_prints_one_parseable_object_per_delivery() {
    let mut listener = Listener::spawn(&["--secret", SECRET, "--json", "--verbose"]).await;
    let start: Value = serde_json::from_str(&listener.start).unwrap();
    assert_eq!(start["scheme"], "standard-webhooks");
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.create_webhook(json!({
        "url": listener.url("/in?x=1"), "secret": SECRET, "events": ["meeting.*"],
    }))
    .await;
    let data = json!({"meeting_id": "m1", "topic": "ünïcode"});
    let e = app
        .publish(json!({"type": "meeting.ended", "data": data}))
        .await;
    let id = e["id"].as_str().unwrap();
    let line = listener.next_json().await;
    assert_eq!(line["id"], id, "{line}");
    assert_eq!(line["type"], "meeting.ended");
    assert_eq!(line["signature_ok"], true);
    assert_eq!(line["reason"], Value::Null);
    assert_eq!(line["size"], envelope_size(id, "meeting.ended", &data));
    assert_eq!(line["path"], "/in?x=1");
    assert_eq!(line["status"], 200);
    assert!(line["time"].as_str().unwrap().contains('T'), "{line}");
    assert_eq!(line["headers"]["webhook-id"], id);
    assert!(
        line["headers"]["webhook-signature"]
            .as_str()
            .unwrap()
            .starts_with("v1,")
    );
    assert_eq!(line["body"]["data"], data);

    app.create_webhook(json!({
        "url": listener.url("/in"), "secret": other_secret(),
        "events": ["billing.*"], "retry_schedule": [],
    }))
    .await;
    app.publish(json!({"type": "billing.failed", "data": {}}))
        .await;
    let line = listener.next_json().await;
    assert_eq!(line["type"], "billing.failed");
    assert_eq!(line["signature_ok"], false);
    assert!(
        line["reason"]
            .as_str()
            .unwrap()
            .starts_with("no signature matches"),
        "{line}"
    );
    assert_eq!(line["status"], 401);

    listener.stop().await;
    app.teardown().await;
}

/// Delivers one event to a listener started with `flags`; hookrelay must record a failed 500.
async fn a_misbehaving_listener_fails_the_attempt_with_500(flags: &[&str]) {
    let mut args = vec!["--secret", SECRET];
    args.extend_from_slice(flags);
    let mut listener = Listener::spawn(&args).await;
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let w = app
        .create_webhook(json!({"url": listener.url("/h"), "secret": SECRET, "retry_schedule": []}))
        .await;
    app.publish(json!({"type": "meeting.ended", "data": {}}))
        .await;
    let line = listener.next_line().await;
    assert!(line.contains("  signature ok  "), "{line}");
    assert!(line.ends_with("  /h  -> 500"), "{line}");
    let d = app
        .wait_for_delivery(w["id"].as_str().unwrap(), "failed")
        .await;
    let attempt = &d["attempts"][0];
    assert_eq!(attempt["status_code"], 500, "{d}");
    assert_eq!(attempt["succeeded"], false);
    listener.stop().await;
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_with_status_500_makes_hookrelay_record_a_failed_attempt() {
    a_misbehaving_listener_fails_the_attempt_with_500(&["--status", "500"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_with_a_fail_rate_of_one_makes_hookrelay_record_a_failed_attempt() {
    a_misbehaving_listener_fails_the_attempt_with_500(&["--fail-rate", "1.0"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_without_a_secret_answers_200_unchecked() {
    let mut listener = Listener::spawn(&[]).await;
    let response = reqwest::Client::new()
        .post(listener.url("/plain"))
        .body(r#"{"event":"ping","id":7}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let line = listener.next_line().await;
    assert!(
        line.ends_with("  7  ping  signature unchecked  23 bytes  /plain  -> 200"),
        "{line}"
    );
    listener.stop().await;
}

#[test]
fn listen_rejects_scheme_flags_that_do_not_apply() {
    let out = run_bounded(
        Command::new(BIN).args(["listen", "--port", "0", "--prefix", "sha256="]),
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--prefix applies only to --scheme hmac-sha256"));
}

/// Runs `command` with `stdin` as its input, waiting at most `WAIT` for it to exit.
fn run_bounded(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hookrelay starts");
    let pid = child.id();
    let mut input = child.stdin.take().expect("piped stdin");
    let stdin = stdin.to_vec();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // A command that exits before reading its stdin closes the pipe; that is fine.
        let _ = input.write_all(&stdin);
        drop(input);
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(WAIT) {
        Ok(output) => output.expect("output"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("hookrelay did not exit within {WAIT:?}");
        }
    }
}

/// `hookrelay verify <args>` with `body` on stdin.
pub(crate) fn verify<S: AsRef<OsStr>>(args: &[S], body: &str) -> Output {
    run_bounded(Command::new(BIN).arg("verify").args(args), body.as_bytes())
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The vector's secret and headers (the timestamp header's name in another case), then `extra`.
fn vector_args(extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--secret".to_owned(),
        SECRET.to_owned(),
        "--header".to_owned(),
        format!("webhook-id: {VECTOR_ID}"),
        "--header".to_owned(),
        format!("Webhook-Timestamp: {VECTOR_TIMESTAMP}"),
        "--header".to_owned(),
        format!("webhook-signature:{VECTOR_SIGNATURE}"),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

#[test]
fn verify_accepts_the_standard_webhooks_vector_at_its_own_time() {
    let out = verify(&vector_args(&["--now", "1614265330"]), VECTOR_BODY);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("valid (id {VECTOR_ID})\n"));

    let out = verify(&vector_args(&["--no-timestamp-check"]), VECTOR_BODY);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn verify_rejects_a_changed_body_with_the_reason() {
    let out = verify(
        &vector_args(&["--now", "1614265330"]),
        r#"{"test": 2432232315}"#,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("invalid: no signature matches"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn verify_rejects_a_stale_timestamp_unless_told_the_time() {
    let out = verify(&vector_args(&[]), VECTOR_BODY);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.starts_with("invalid: signed timestamp 1614265330 is"),
        "{text}"
    );
    assert!(text.contains("--now"), "{text}");

    let out = verify(
        &vector_args(&["--now", "1614265330", "--tolerance", "1m"]),
        VECTOR_BODY,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = verify(
        &vector_args(&["--now", "1614265400", "--tolerance", "1m"]),
        VECTOR_BODY,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn verify_checks_hmac_sha256_with_any_of_several_secrets_and_a_body_file() {
    let scheme = Scheme::HmacSha256 {
        header: "X-Hub-Sig".into(),
        encoding: Encoding::Hex,
        prefix: "sha256=".into(),
    };
    let body = r#"{"event":"meeting.created","data":{}}"#;
    let secret = Secret::new(&scheme, "the-new-secret").unwrap();
    let signed = sign(&scheme, &[secret], "unused", 0, body.as_bytes());
    let header = format!("X-Hub-Sig: {}", signed.get("X-Hub-Sig").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.json");
    std::fs::write(&file, body).unwrap();
    let file = file.to_str().unwrap();
    let flags = |header: &str| -> Vec<String> {
        [
            "--scheme",
            "hmac-sha256",
            "--signature-header",
            "x-hub-sig",
            "--prefix",
            "sha256=",
            "--secret",
            "the-old-secret",
            "--secret",
            "the-new-secret",
            "--body",
            file,
            "--header",
            header,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let run = |args: Vec<String>| verify(&args, "stdin is ignored with --body");

    let out = run(flags(&header));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(stdout(&out), "valid\n");

    let unprefixed = header.replace("sha256=", "");
    let out = run(flags(&unprefixed));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "invalid: malformed header `x-hub-sig`: does not start with the configured prefix\n"
    );

    let out = run(flags("Other: x"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("invalid: missing header `x-hub-sig`"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn verify_reports_usage_errors_with_exit_code_2() {
    let out = verify(&["--secret", SECRET, "--header", "no colon here"], "{}");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected `Name: value`"),
        "{}",
        stderr(&out)
    );

    let out = verify(
        &["--secret", SECRET, "--body", "/nonexistent/body.json"],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("reading --body"), "{}", stderr(&out));

    let out = verify(&["--header", "webhook-id: x"], "{}");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--secret"), "{}", stderr(&out));

    let out = verify(&["--secret", "not base64!"], "{}");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("base64"), "{}", stderr(&out));
}
