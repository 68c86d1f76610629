//! The client libraries in clients/: their tests run against a real server started here, and
//! their generated code is what the generator makes of this build's OpenAPI document (no drift).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::{ADMIN_KEY, Backend, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_hookrelay");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `clients/openapi.json` is exactly what `hookrelay openapi` prints: the committed contract
/// the clients are generated from is this build's.
#[test]
fn the_committed_openapi_document_is_this_builds() {
    let committed = std::fs::read_to_string(repo_root().join("clients/openapi.json")).unwrap();
    let current = hookrelay::cli::openapi::document_text().unwrap();
    assert!(
        committed == current,
        "clients/openapi.json is stale: run scripts/generate-clients.sh and commit the result"
    );
}

/// scripts/generate-clients.sh, run into a scratch directory, writes byte for byte what is
/// committed under clients/.
#[test]
fn the_generated_python_client_code_is_current() {
    let root = repo_root();
    if !root
        .join("clients/python/.venv/bin/datamodel-codegen")
        .exists()
    {
        assert!(
            !in_ci(),
            "the Python generator is not installed: run scripts/install-test-deps.sh"
        );
        eprintln!(
            "SKIPPED the_generated_python_client_code_is_current: run scripts/install-test-deps.sh to install the generator"
        );
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(root.join("scripts/generate-clients.sh"))
        .env("HOOKRELAY_BIN", BIN)
        .env("CLIENTS_OUT", out.path())
        .status()
        .unwrap();
    assert!(status.success(), "scripts/generate-clients.sh failed");
    for file in ["openapi.json", "python/src/hookrelay/models.py"] {
        let generated = std::fs::read_to_string(out.path().join(file)).unwrap();
        let committed = std::fs::read_to_string(root.join("clients").join(file)).unwrap();
        assert!(
            generated == committed,
            "clients/{file} differs from what scripts/generate-clients.sh makes: run it and commit the result"
        );
    }
}

/// `python3 -m unittest` in clients/python: the verify helpers on every vector and seed
/// document, and the client against this real server, delivering to a receiver the Python test
/// serves on 127.0.0.1.
#[tokio::test]
async fn the_python_client_passes_its_tests_against_a_real_server() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let dir = repo_root().join("clients/python");
    let url = app.url("");
    // The server runs on this test's runtime, so the child is awaited on a blocking thread.
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-m", "unittest", "-v"])
            .current_dir(&dir)
            .env("HOOKRELAY_TEST_URL", url)
            .env("HOOKRELAY_TEST_ADMIN_KEY", ADMIN_KEY)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python3 -m unittest failed:\n{stderr}"
    );
    // Every test ran: none was skipped for want of the server.
    assert!(!stderr.contains("skipped 'HOOKRELAY_TEST_URL"), "{stderr}");
    app.teardown().await;
}
