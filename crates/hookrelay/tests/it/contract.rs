//! The OpenAPI document is the exact contract, and a fuzzer proves it: schemathesis (pinned and
//! installed by `scripts/install-test-deps.sh` into `tests/fuzz/.venv`) runs every check
//! against a real server on each backend and must report no failure. First the stateless
//! phases (examples, coverage, fuzzing) with path parameters pinned to seeded objects
//! (`tests/fuzz/seeded.toml`), then the stateful phase, which follows the document's links
//! (`tests/fuzz/stateful.toml`). Generation is deterministic, so a failure reproduces.
//!
//! The server is confined: deliveries and test sends may reach only 127.0.0.0/8 and no host
//! name is looked up (`deliver_only_to_allowed_cidrs`), so the URLs the fuzzer invents cause no
//! traffic beyond loopback.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::helpers::{ADMIN_KEY, Backend, TestApp};

/// Examples per operation and phase: enough to cover every operation's shapes, within a minute
/// or two on two cores.
const EXAMPLES: &str = "12";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_every_promise_of_its_openapi_document_on_sqlite() {
    fuzz(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_every_promise_of_its_openapi_document_on_postgres() {
    fuzz(Backend::Postgres).await;
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz")
}

async fn fuzz(backend: Backend) {
    let st = fuzz_dir().join(".venv/bin/st");
    assert!(
        st.exists(),
        "{} is missing: run scripts/install-test-deps.sh first",
        st.display()
    );
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.allowed_cidrs = vec!["127.0.0.0/8".parse().unwrap()];
        config.deliver_only_to_allowed_cidrs = true;
    })
    .await
    else {
        return;
    };
    let seeds = seed(&app).await;
    for (config, phases) in [
        ("seeded.toml", "examples,coverage,fuzzing"),
        ("stateful.toml", "stateful"),
    ] {
        let mut command = Command::new(&st);
        command
            .arg("--config-file")
            .arg(fuzz_dir().join(config))
            .arg("--no-color")
            .arg("run")
            .arg(app.url("/openapi.json"))
            .args(["--header", &format!("Authorization: Bearer {ADMIN_KEY}")])
            .args(["--checks", "all", "--phases", phases, "-n", EXAMPLES])
            .envs(seeds.iter().map(|(k, v)| (*k, v.as_str())))
            // Whatever schemathesis or hypothesis leave behind stays out of the repository.
            .current_dir(std::env::temp_dir());
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "schemathesis ({phases}) on {backend:?} found failures:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Every operation schemathesis selected was tested (the stateful phase reaches only
        // those that links lead to).
        let count = |label: &str| {
            stdout
                .lines()
                .find_map(|l| l.trim().strip_prefix(label))
                .map(|n| n.split('/').next().unwrap_or_default().trim().to_owned())
        };
        assert!(
            phases == "stateful" || count("Tested:") == count("Selected:"),
            "every operation was tested: {stdout}"
        );
        assert!(count("Tested:").is_some(), "{stdout}");
    }
    app.teardown().await;
}

/// A tenant, a webhook in it and one in `default`, an event type, and an event whose delivery
/// is in the log: what the pinned operations read. Named for seeded.toml.
async fn seed(app: &TestApp) -> Vec<(&'static str, String)> {
    app.create_tenant("fuzz").await;
    // Port 9 (discard) on loopback: deliveries fail there, locally.
    let hook = json!({"url": "http://127.0.0.1:9/hook"});
    let webhook = app.create_webhook(hook.clone()).await;
    let (status, tenant_webhook) = app.post("/v1/tenants/fuzz/webhooks", hook).await;
    assert!(status.is_success(), "{tenant_webhook}");
    let (status, body) = app
        .post(
            "/v1/event-types",
            json!({"name": "fuzz.seeded", "example": {"n": 1}}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let event = app
        .publish(json!({"type": "fuzz.seeded", "data": {"n": 1}}))
        .await;
    let webhook_id = webhook["id"].as_str().unwrap().to_owned();
    let deliveries = app.deliveries(&webhook_id).await;
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    vec![
        ("FUZZ_WEBHOOK", webhook_id),
        ("FUZZ_TENANT_WEBHOOK", text(&tenant_webhook["id"])),
        ("FUZZ_EVENT", text(&event["id"])),
        ("FUZZ_DELIVERY", text(&deliveries[0]["id"])),
    ]
}
