//! What `hookrelay serve` logs, run as the real binary at debug level with JSON lines: a whole
//! scenario (a tenant and its key, a webhook with a known secret, publishes, signed deliveries, a
//! failed attempt, a secret rotation, a test send) leaves no secret, key or signature anywhere in
//! the log, nor a colour code in a pipe; each request has one access-log line; every line about
//! a delivery names its event, delivery, webhook and tenant.

use serde_json::{Value, json};

use crate::helpers::TestReceiver;
use crate::serve::{Api, Served};

const ADMIN_KEY: &str = "hra_logging_test_admin_key_0123456789";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEW_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debug_log_of_a_whole_scenario_holds_no_secret_key_or_signature() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("hookrelay.db").display());
    let mut served = Served::start_with(&database, true, |cmd| {
        cmd.args(["--log-format", "json"])
            .env("RUST_LOG", "debug")
            .env("HOOKRELAY_ADMIN_KEY", ADMIN_KEY)
            // Colour is decided by whether stdout is a terminal, not by NO_COLOR.
            .env_remove("NO_COLOR");
    });
    let api = Api::new(&served.address());
    let receiver = TestReceiver::spawn().await;
    // The first attempt fails, so a retry is logged at info.
    receiver.script(&[500]);

    api.post(
        ADMIN_KEY,
        "/v1/tenants",
        json!({"id": "acme", "name": "Acme"}),
    )
    .await;
    let minted = api
        .post(ADMIN_KEY, "/v1/tenants/acme/keys", json!({}))
        .await;
    let tenant_key = minted["key"].as_str().unwrap().to_owned();
    let webhook = api
        .post(
            &tenant_key,
            "/v1/webhooks",
            json!({"url": receiver.url("/h"), "secret": SECRET, "retry_schedule": [1]}),
        )
        .await;
    let id = webhook["id"].as_str().unwrap().to_owned();
    let event = json!({"type": "a.b", "data": {"n": 1}, "tenant": "acme"});
    api.post(ADMIN_KEY, "/v1/events", event).await;
    receiver.wait_for(2).await;
    api.post(
        &tenant_key,
        &format!("/v1/webhooks/{id}/rotate-secret"),
        json!({"secret": NEW_SECRET}),
    )
    .await;
    let event = json!({"type": "a.b", "data": {"n": 2}, "tenant": "acme"});
    api.post(ADMIN_KEY, "/v1/events", event).await;
    receiver.wait_for(3).await;
    let tested = api
        .post(
            &tenant_key,
            &format!("/v1/webhooks/{id}/test"),
            json!({"event_type": "a.b"}),
        )
        .await;
    assert_eq!(tested["succeeded"], true, "{tested}");
    let received = receiver.wait_for(4).await;
    let signatures: Vec<String> = received
        .iter()
        .map(|r| r.header("webhook-signature").to_owned())
        .collect();
    for during_overlap in &signatures[2..] {
        assert!(
            during_overlap.contains(' '),
            "signed with both secrets during the overlap: {during_overlap}"
        );
    }
    let log = served.terminate();

    let mut secrets = vec![
        ADMIN_KEY.to_owned(),
        tenant_key.clone(),
        SECRET.to_owned(),
        NEW_SECRET.to_owned(),
        // The key material without its prefix, as a careless log might print it decoded.
        SECRET.trim_start_matches("whsec_").to_owned(),
        NEW_SECRET.trim_start_matches("whsec_").to_owned(),
    ];
    for header in &signatures {
        for signature in header.split(' ') {
            secrets.push(signature.to_owned());
            secrets.push(signature.trim_start_matches("v1,").to_owned());
        }
    }
    for line in &log {
        for secret in &secrets {
            assert!(!line.contains(secret.as_str()), "{secret:?} logged: {line}");
        }
        assert!(!line.contains('\u{1b}'), "a colour code in a pipe: {line}");
    }

    // Besides the log, only `--dev`'s banner, on stderr for a person to see.
    let lines: Vec<Value> = log
        .iter()
        .filter(|l| !l.trim().is_empty() && !l.contains("!!  hookrelay is in DEVELOPMENT MODE"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "DEBUG"),
        "debug lines were captured"
    );
    let access = lines
        .iter()
        .find(|l| l["message"] == "request" && l["route"] == "/v1/webhooks")
        .unwrap_or_else(|| panic!("no access line for POST /v1/webhooks in {log:#?}"));
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["method"], "POST");
    assert_eq!(access["status"], 201);
    assert_eq!(access["tenant.id"], "acme");
    assert!(access["latency_ms"].is_u64(), "{access}");
    let minting = lines
        .iter()
        .find(|l| l["message"] == "request" && l["route"] == "/v1/tenants/{tid}/keys")
        .unwrap_or_else(|| panic!("no access line for minting a key in {log:#?}"));
    assert_eq!(
        minting["tenant.id"], "acme",
        "the admin's tenant in the path"
    );
    let rotation = "/v1/webhooks/{id}/rotate-secret";
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "request" && l["route"] == rotation),
        "the route's template, not its path"
    );

    let about_attempts: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("attempt "))
        })
        .collect();
    assert!(
        about_attempts.iter().any(|l| l["level"] == "DEBUG"),
        "successes are logged at debug: {log:#?}"
    );
    for line in about_attempts {
        for field in ["event.id", "delivery.id", "webhook.id", "tenant.id"] {
            assert!(line[field].is_string(), "{field} in {line}");
        }
    }
    let retry = lines
        .iter()
        .find(|l| l["message"] == "attempt failed; the delivery will be retried")
        .unwrap_or_else(|| panic!("no line for the failed attempt in {log:#?}"));
    assert_eq!(retry["level"], "INFO");
    assert_eq!(retry["webhook.id"], id.as_str());
    assert_eq!(retry["tenant.id"], "acme");
    for field in ["event.id", "delivery.id"] {
        assert!(retry[field].is_string(), "{field} in {retry}");
    }
}
