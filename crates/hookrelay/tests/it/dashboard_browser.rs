//! The dashboard in a real headless Chromium, driven over WebDriver (chromedriver, spawned on a
//! free port). One browser session walks the main flows against the real server on SQLite
//! (a test send to a live `hookrelay listen` among them) and saves a screenshot of each main
//! page under target/dashboard-screenshots/. Sessions and links
//! on both backends are covered over HTTP in `dashboard.rs`.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::cli::Listener;
use crate::helpers::{ADMIN_KEY, Backend, TestApp, eventually};

/// The secret of the webhook that delivers to `hookrelay listen`.
const LISTEN_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

/// Kills chromedriver and the browser it started when the test ends, however it ends: a
/// failed assertion never reaches `close()`, and chromedriver killed alone leaves Chromium
/// running. chromedriver is spawned as the leader of a process group of its own, which its
/// browser joins, and the whole group is killed: only this test's processes, never another
/// test's or another user's browser.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A receiver whose status and body the test sets.
#[derive(Clone)]
struct Answer(Arc<Mutex<(u16, String)>>);

async fn receiver(answer: Answer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move || {
        let answer = answer.clone();
        async move {
            let (status, body) = answer.0.lock().unwrap().clone();
            (StatusCode::from_u16(status).unwrap(), body)
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}/hook")
}

async fn start_browser() -> Option<(Driver, Client)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = match Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: chromedriver is not installed ({e}); .ci/run installs it");
            return None;
        }
        Err(e) => panic!("chromedriver: {e}"),
    };
    let driver = Driver(child);
    let url = format!("http://127.0.0.1:{port}");
    let caps = json!({"goog:chromeOptions": {"args": [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--window-size=1280,900"
    ]}});
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let mut last = None;
    for _ in 0..200 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Some((driver, client)),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver never answered: {last:?}");
}

fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shoot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// The text of the first element matching `css`, waiting for it to appear (a click that
/// navigates can return before the next page is there).
async fn text(c: &Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn wait_for_path(c: &Client, path: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while c.current_url().await.unwrap().path() != path {
        assert!(std::time::Instant::now() < deadline, "never reached {path}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Clicks a button whose form asks for confirmation, and confirms.
async fn click_confirmed(c: &Client, css: &str) {
    click(c, css).await;
    c.accept_alert().await.unwrap();
}

async fn no_horizontal_scroll(c: &Client, page: &str) {
    let width = c
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .unwrap();
    assert!(
        width.as_u64().unwrap() <= 375,
        "{page} scrolls sideways: {width}"
    );
}

/// Reloads until the element's text contains `wanted`.
async fn wait_for_text(c: &Client, css: &str, wanted: &str) {
    for _ in 0..200 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && e.text().await.unwrap_or_default().contains(wanted)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        c.refresh().await.unwrap();
    }
    panic!("{css} never showed {wanted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let answer = Answer(Arc::new(Mutex::new((500, "receiver is down".to_owned()))));
    let hook_url = receiver(answer.clone()).await;
    let (status, _) = app
        .post(
            "/v1/event-types",
            json!({"name": "invoice.paid", "description": "An invoice was paid."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // The operator signs in with the admin key.
    c.goto(&app.url("/")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/dashboard/login")
    );
    shoot(&c, "login").await;
    c.find(Locator::Css("#admin_key"))
        .await
        .unwrap()
        .send_keys(ADMIN_KEY)
        .await
        .unwrap();
    click(&c, "form.card button").await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/dashboard/tenants",
        "{}",
        c.source().await.unwrap()
    );
    shoot(&c, "tenants").await;

    // A refused URL is shown at its field with the API's message; then a webhook is created.
    c.goto(&app.url("/dashboard/t/default/webhooks"))
        .await
        .unwrap();
    shoot(&c, "webhooks-empty").await;
    c.goto(&app.url("/dashboard/t/default/webhooks/new"))
        .await
        .unwrap();
    c.find(Locator::Css("#url"))
        .await
        .unwrap()
        .send_keys("ftp://example.com/x")
        .await
        .unwrap();
    click(&c, "form.card button[type=submit]").await;
    let error = text(&c, "#url-error").await;
    assert!(!error.is_empty());
    shoot(&c, "webhook-form-error").await;
    let url = c.find(Locator::Css("#url")).await.unwrap();
    url.clear().await.unwrap();
    url.send_keys(&hook_url).await.unwrap();
    click(&c, "input[name=events][value='invoice.paid']").await;
    click(&c, "form.card button[type=submit]").await;
    let webhook_page = c.current_url().await.unwrap();
    let webhook_id = webhook_page.path().rsplit('/').next().unwrap().to_owned();
    assert!(webhook_id.starts_with("wh_"), "{webhook_page}");
    let (_, webhook) = app.get(&format!("/v1/webhooks/{webhook_id}")).await;
    assert_eq!(webhook["events"], json!(["invoice.paid"]));

    // A failing delivery shows in the log with its error; Retry after recovery succeeds.
    app.publish(json!({"type": "invoice.paid", "data": {"amount": 1}}))
        .await;
    let api = &app;
    let wid = webhook_id.as_str();
    eventually(
        Duration::from_secs(20),
        "the first attempt",
        || async move {
            api.deliveries(wid)
                .await
                .first()
                .is_some_and(|d| d["attempt_count"] == 1)
        },
    )
    .await;
    c.goto(webhook_page.as_str()).await.unwrap();
    shoot(&c, "webhook").await;
    // The list: the failed attempt in the webhook's rate and sparkline.
    let list = app.url("/dashboard/t/default/webhooks");
    c.goto(&list).await.unwrap();
    assert_eq!(text(&c, ".glance .rate").await, "0.0 %");
    let spark = c.find(Locator::Css("svg.spark")).await.unwrap();
    let label = spark.attr("aria-label").await.unwrap().unwrap_or_default();
    assert!(label.ends_with("0 succeeded, 1 failed"), "{label}");
    shoot(&c, "webhooks").await;
    c.goto(webhook_page.as_str()).await.unwrap();
    click(&c, "#log a").await;
    assert!(text(&c, "section.attempt").await.contains("500"));
    assert!(text(&c, "pre.response").await.contains("receiver is down"));
    shoot(&c, "delivery-failed").await;
    answer.0.lock().unwrap().0 = 200;
    click(&c, "#retry").await;
    wait_for_text(&c, "#delivery-status", "succeeded").await;

    // A hostile response body is shown as text: no script runs, no dialog opens.
    *answer.0.lock().unwrap() = (200, HOSTILE.to_owned());
    app.publish(json!({"type": "invoice.paid", "data": {"amount": 2}}))
        .await;
    eventually(
        Duration::from_secs(20),
        "the hostile answer",
        || async move {
            let list = api.deliveries(wid).await;
            list.len() == 2 && list[0]["status"] == "succeeded"
        },
    )
    .await;
    c.goto(webhook_page.as_str()).await.unwrap();
    click(&c, "#log tbody tr:first-child a").await;
    assert_eq!(text(&c, "pre.response").await, HOSTILE);
    let alert = c.get_alert_text().await.unwrap_err();
    assert!(alert.to_string().contains("no such alert"), "{alert}");
    shoot(&c, "delivery-hostile").await;
    // The test panel: its result, hostile too, shown as text on the webhook page.
    c.goto(webhook_page.as_str()).await.unwrap();
    click(&c, "#send-test").await;
    assert!(text(&c, "#test-result").await.contains("HTTP 200"));
    assert_eq!(text(&c, "#test-result pre.response").await, HOSTILE);
    let alert = c.get_alert_text().await.unwrap_err();
    assert!(alert.to_string().contains("no such alert"), "{alert}");
    shoot(&c, "webhook-tested").await;
    c.set_window_size(375, 800).await.unwrap();
    no_horizontal_scroll(&c, "the delivery page").await;
    c.goto(webhook_page.as_str()).await.unwrap();
    no_horizontal_scroll(&c, "the webhook page").await;
    shoot(&c, "webhook-phone").await;
    c.goto(&list).await.unwrap();
    no_horizontal_scroll(&c, "the webhooks list").await;
    shoot(&c, "webhooks-phone").await;
    c.goto(&app.url("/dashboard/system")).await.unwrap();
    no_horizontal_scroll(&c, "the system page").await;
    shoot(&c, "system-phone").await;
    c.set_window_size(1280, 900).await.unwrap();
    c.goto(webhook_page.as_str()).await.unwrap();
    // Its page with failed and succeeded attempts (README's docs/dashboard.png).
    shoot(&c, "webhook-active").await;

    // Disable and re-enable; rotate the secret.
    click_confirmed(&c, "#disable").await;
    assert!(text(&c, "#disabled-banner").await.contains("disabled"));
    shoot(&c, "webhook-disabled").await;
    click(&c, "#enable").await;
    assert!(c.find(Locator::Css("#disabled-banner")).await.is_err());
    let old_secret = webhook["secret"].as_str().unwrap().to_owned();
    click_confirmed(&c, "#rotate").await;
    let shown = text(&c, "#secret").await;
    assert!(
        shown.starts_with("whsec_") && shown != old_secret,
        "{shown}"
    );

    // The chart per day over 30 days, chosen with a link.
    click(&c, "nav.windows a[href$='window=30d#activity']").await;
    assert_eq!(
        c.find(Locator::Css("#chart"))
            .await
            .unwrap()
            .attr("data-window")
            .await
            .unwrap()
            .as_deref(),
        Some("30d")
    );
    shoot(&c, "webhook-30d").await;
    // The receiving guide, in Python, and the edit form with its wire format.
    click(&c, "#guide").await;
    click(&c, "nav.tabs a[href$='lang=python']").await;
    assert!(
        text(&c, "#snippet")
            .await
            .contains("def verify_standard_webhooks(")
    );
    shoot(&c, "receiving-guide").await;
    c.goto(&format!("{webhook_page}/edit")).await.unwrap();
    assert!(text(&c, "#custom-format legend").await.contains("Custom"));
    shoot(&c, "webhook-edit").await;

    // A test send to a live `hookrelay listen`, which verifies the signature.
    let mut listener = Listener::spawn(&["--secret", LISTEN_SECRET]).await;
    let (_, listened) = app
        .post(
            "/v1/webhooks",
            json!({"url": listener.url("/hooks"), "secret": LISTEN_SECRET, "events": ["invoice.paid"]}),
        )
        .await;
    let listened = listened["id"].as_str().unwrap();
    c.goto(&app.url(&format!("/dashboard/t/default/webhooks/{listened}")))
        .await
        .unwrap();
    click(&c, "#send-test").await;
    assert!(text(&c, "#test-result").await.contains("HTTP 200"));
    let line = listener.next_line().await;
    assert!(
        line.contains("invoice.paid") && line.contains("signature ok"),
        "{line}"
    );
    shoot(&c, "webhook-tested-listen").await;
    listener.stop().await;

    // Sign out; a tenant signs in through a link and cannot open another tenant's webhook.
    click(&c, "form[action='/dashboard/logout'] button").await;
    wait_for_path(&c, "/dashboard/login").await;
    app.create_tenant("acme").await;
    let (_, link) = app.post("/v1/tenants/acme/dashboard-link", json!({})).await;
    let link = link["url"].as_str().unwrap().to_owned();
    c.goto(&link).await.unwrap();
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/dashboard/t/acme/webhooks"
    );
    shoot(&c, "tenant-webhooks").await;
    c.goto(&app.url(&format!("/dashboard/t/acme/webhooks/{webhook_id}")))
        .await
        .unwrap();
    assert_eq!(text(&c, "h1").await, "Not found");
    c.goto(&app.url(&format!("/dashboard/t/default/webhooks/{webhook_id}")))
        .await
        .unwrap();
    assert_eq!(text(&c, "h1").await, "Not found");
    click(&c, "a[href='/dashboard']").await;
    click(&c, "form[action='/dashboard/logout'] button").await;
    // The sign-out's own navigation must be over, or it could land after the link's.
    wait_for_path(&c, "/dashboard/login").await;
    c.goto(&link).await.unwrap();
    assert!(text(&c, "p.error").await.contains("expired or was used"));

    c.close().await.unwrap();
    app.teardown().await;
}
