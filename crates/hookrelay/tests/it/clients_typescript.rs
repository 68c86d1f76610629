//! The TypeScript client (`clients/typescript`): its `node --test` suite runs against a real
//! server, and its generated types must be what openapi-typescript makes of the document the
//! server serves (no drift).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reqwest::StatusCode;

use crate::helpers::{ADMIN_KEY, Backend, TestApp};

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/typescript")
}

async fn run(mut command: Command) -> Output {
    let program = format!("{command:?}");
    tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{program} did not start: {e}"))
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the verify tests (the Standard Webhooks vectors, v1a, the seeds) and the live tests:
/// CRUD, pagination, errors, a real delivery of every wire format checked by the verify
/// helpers, and publish retries through a proxy that loses a response or answers 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_client_passes_its_tests_against_a_real_server() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut command = Command::new("node");
    command
        .args(["--test", "--test-timeout=60000", "test/"])
        .current_dir(client_dir())
        .env("HOOKRELAY_URL", app.url(""))
        .env("HOOKRELAY_ADMIN_KEY", ADMIN_KEY);
    let output = run(command).await;
    assert_success(&output, "node --test in clients/typescript");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Every test ran: none skipped for want of the server.
    assert!(stdout.contains("# skipped 0"), "{stdout}");
    assert!(stdout.contains("# fail 0"), "{stdout}");
    app.teardown().await;
}

/// Regenerates `src/schema.d.ts` from the served document with the pinned openapi-typescript
/// (installed by `scripts/install-test-deps.sh`) and compares; then type-checks the
/// hand-written declarations against it. Skips loudly outside CI when it is not installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_types_are_generated_from_the_served_document() {
    let dir = client_dir();
    let generator = dir.join("node_modules/.bin/openapi-typescript");
    if !generator.exists() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "{} is missing under CI=true: run scripts/install-test-deps.sh",
            generator.display()
        );
        eprintln!(
            "\n*** SKIPPED: the TypeScript client's drift test: {} is missing (run scripts/install-test-deps.sh). ***\n",
            generator.display()
        );
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let document = response.text().await.unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let (input, generated) = (
        scratch.path().join("openapi.json"),
        scratch.path().join("schema.d.ts"),
    );
    std::fs::write(&input, document).unwrap();

    let mut command = Command::new(&generator);
    command
        .arg(&input)
        .arg("--output")
        .arg(&generated)
        .current_dir(&dir);
    assert_success(&run(command).await, "openapi-typescript");
    let committed = std::fs::read_to_string(dir.join("src/schema.d.ts")).unwrap();
    let fresh = std::fs::read_to_string(&generated).unwrap();
    assert!(
        committed == fresh,
        "clients/typescript/src/schema.d.ts is not what openapi-typescript makes of the served \
         document: regenerate it (see clients/typescript/README.md, \"Regenerating\")"
    );

    let mut tsc = Command::new(dir.join("node_modules/.bin/tsc"));
    tsc.args(["-p", "."]).current_dir(&dir);
    assert_success(&run(tsc).await, "tsc -p clients/typescript");
    app.teardown().await;
}

/// `npm install ./clients/typescript` works offline, from an empty npm cache: the package has
/// no runtime dependency and needs no build step. Both ways npm installs a directory: linked
/// (its default) and copied as a packed tarball would be (`--install-links`, which installs
/// only what `files` in package.json ships). The installed package then imports and verifies
/// the Standard Webhooks spec's example.
#[tokio::test]
async fn the_typescript_client_installs_offline_from_the_repository() {
    use crate::clients::{
        VECTOR_BODY, VECTOR_ID, VECTOR_SECRET, VECTOR_SIGNATURE, VECTOR_TIMESTAMP,
    };
    let scratch = tempfile::tempdir().unwrap();
    for (name, flags) in [("linked", &[][..]), ("copied", &["--install-links"][..])] {
        let project = scratch.path().join(name);
        std::fs::create_dir(&project).unwrap();
        std::fs::write(
            project.join("package.json"),
            r#"{"name":"consumer","private":true}"#,
        )
        .unwrap();
        let mut install = Command::new("npm");
        install
            .args(["install", "--offline", "--no-audit", "--no-fund"])
            .args(flags)
            .arg(client_dir())
            .env("npm_config_cache", scratch.path().join("cache"))
            .current_dir(&project);
        assert_success(
            &run(install).await,
            &format!("npm install --offline ./clients/typescript ({name})"),
        );
        let script = format!(
            "import {{ Hookrelay, verify }} from 'hookrelay'; \
             import {{ verifyStandardWebhooks }} from 'hookrelay/verify'; \
             new Hookrelay({{ baseUrl: 'http://127.0.0.1:1' }}); \
             const headers = {{ 'webhook-id': '{VECTOR_ID}', 'webhook-timestamp': '{VECTOR_TIMESTAMP}', \
               'webhook-signature': '{VECTOR_SIGNATURE}' }}; \
             const signed = verifyStandardWebhooks('{VECTOR_SECRET}', headers, {VECTOR_BODY:?}, \
               {{ now: {VECTOR_TIMESTAMP} }}); \
             console.log(typeof verify, signed.msgId);"
        );
        let mut import = Command::new("node");
        import
            .args(["--input-type=module", "-e", &script])
            .current_dir(&project);
        let output = run(import).await;
        assert_success(&output, &format!("importing the installed client ({name})"));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            format!("function {VECTOR_ID}")
        );
    }
}
