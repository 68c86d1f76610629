//! The README's copy-paste examples still match the API: every `curl` with a body is sent, in
//! order, to a real server and must succeed; the `hookrelay verify` example prints what the
//! README says it prints.

use std::process::Command;

use reqwest::Method;

use crate::helpers::{ADMIN_KEY, Backend, TestApp};

const README: &str = include_str!("../../../../README.md");

/// Each `curl` command of the README, with continuation lines joined.
fn curl_commands() -> Vec<String> {
    let mut commands = Vec::new();
    let mut current: Option<String> = None;
    for line in README.lines() {
        let line = line.trim();
        match &mut current {
            Some(cmd) => cmd.push_str(line.trim_end_matches('\\')),
            None if line.starts_with("curl ") => {
                current = Some(line.trim_end_matches('\\').to_owned())
            }
            None => continue,
        }
        if !line.ends_with('\\') {
            commands.extend(current.take());
        }
    }
    commands
}

/// (method, path, body) of a README curl command against localhost:8080.
fn parse(cmd: &str) -> Option<(Method, String, Option<serde_json::Value>)> {
    let path = cmd
        .split("localhost:8080")
        .nth(1)?
        .split_whitespace()
        .next()?
        .to_owned();
    let body = cmd.split(" -d '").nth(1).map(|rest| {
        let json = rest.split('\'').next().unwrap();
        serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("README body is not JSON ({e}): {json}"))
    });
    let method = if cmd.contains("-XPOST") || body.is_some() {
        Method::POST
    } else {
        Method::GET
    };
    Some((method, path, body))
}

#[tokio::test]
async fn the_readmes_curl_examples_work_against_the_real_api() {
    let mut app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let commands = curl_commands();
    assert!(
        commands.len() >= 6,
        "found {} curl commands",
        commands.len()
    );
    let mut sent = 0;
    for cmd in &commands {
        let (method, path, body) = parse(cmd).unwrap_or_else(|| panic!("unparsed: {cmd}"));
        if path.contains("...") {
            continue; // placeholders for ids the reader copies from an earlier answer
        }
        assert!(cmd.contains("Bearer $KEY"), "{cmd}");
        let (status, answer) = app.call(method, &path, Some(ADMIN_KEY), body).await;
        assert!(
            status.is_success(),
            "README example failed with {status}: {cmd}\n{answer}"
        );
        sent += 1;
    }
    assert!(sent >= 4);
    app.stop().await;
}

#[test]
fn the_readmes_verify_example_prints_valid() {
    let start = README.find("printf '%s'").expect("the verify example");
    let block = &README[start..];
    let block = &block[..block.find("```").unwrap()];
    let (script, expected) = block.rsplit_once("# ").unwrap();
    let script = script.replace(
        "cargo run --release -p hookrelay --",
        env!("CARGO_BIN_EXE_hookrelay"),
    );
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected.trim());
}
