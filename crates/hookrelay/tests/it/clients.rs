//! The client libraries in clients/: their tests run against a real server started here,
//! their generated code is what the generator makes of this build's OpenAPI document (no
//! drift), and the Python client installs offline from the repository.

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

/// The standard Webhooks spec's example delivery, which an installed client must verify.
pub const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
pub const VECTOR_TIMESTAMP: &str = "1614265330";
pub const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
pub const VECTOR_BODY: &str = r#"{"test": 2432232314}"#;

/// Copies a directory tree, leaving out dot-entries (the generator's `.venv`, `.wheels`) and
/// `__pycache__`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || name == "__pycache__" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

fn run_ok(command: &mut Command, what: &str) -> String {
    let output = command
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `pip install ./clients/python` works offline, as clients/python/README.md tells: into a
/// fresh virtualenv, with `--no-index` (pip asks no index at all) and `--no-build-isolation`,
/// building with the setuptools installed into that virtualenv beforehand from the pinned
/// wheel that scripts/install-test-deps.sh keeps in clients/python/.wheels. The installed
/// package (not the source tree) then verifies the Standard Webhooks spec's example.
#[test]
fn the_python_client_installs_offline_from_the_repository() {
    let wheels = repo_root().join("clients/python/.wheels");
    let has_setuptools = std::fs::read_dir(&wheels).is_ok_and(|mut entries| {
        entries.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("setuptools-")))
    });
    if !has_setuptools {
        assert!(
            !in_ci(),
            "{} has no setuptools wheel under CI=true: run scripts/install-test-deps.sh",
            wheels.display()
        );
        eprintln!(
            "\n*** SKIPPED: the Python client's offline install: no setuptools wheel in {} (run scripts/install-test-deps.sh). ***\n",
            wheels.display()
        );
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    // A copy of the package, so that the build's by-products (build/, *.egg-info) stay out of
    // the checkout and concurrent runs do not share them.
    let package = scratch.path().join("python");
    copy_tree(&repo_root().join("clients/python"), &package);
    let venv = scratch.path().join("venv");
    run_ok(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "python3 -m venv",
    );
    let python = venv.join("bin/python");
    run_ok(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-index",
                "--find-links",
            ])
            .arg(&wheels)
            // What pyproject.toml requires: a virtualenv may come with an older one.
            .arg("setuptools>=70.1"),
        "pip install --no-index setuptools>=70.1",
    );
    run_ok(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-index",
                "--no-build-isolation",
            ])
            .arg(&package),
        "pip install --no-index --no-build-isolation ./clients/python",
    );
    let script = format!(
        "import hookrelay\n\
         from hookrelay import verify\n\
         headers = {{'webhook-id': '{VECTOR_ID}', 'webhook-timestamp': '{VECTOR_TIMESTAMP}', \
         'webhook-signature': '{VECTOR_SIGNATURE}'}}\n\
         signed = verify.standard_webhooks('{VECTOR_SECRET}', headers, {VECTOR_BODY:?}.encode(), now={VECTOR_TIMESTAMP})\n\
         hookrelay.Client('http://127.0.0.1:1', 'key')\n\
         print(signed.msg_id)\n\
         print(hookrelay.__file__)\n"
    );
    let printed = run_ok(
        Command::new(&python)
            .args(["-c", &script])
            .current_dir(scratch.path()),
        "importing the installed client",
    );
    let mut lines = printed.lines();
    assert_eq!(lines.next(), Some(VECTOR_ID), "{printed}");
    let installed = lines.next().unwrap_or_default();
    assert!(
        installed.starts_with(&venv.to_string_lossy().into_owned())
            && installed.contains("site-packages"),
        "imported from {installed}, not the virtualenv"
    );
}
