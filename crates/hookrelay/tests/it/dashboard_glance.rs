//! The webhooks list's glance, over HTTP on both backends: each webhook's success rate over the
//! last 24 hours and its sparkline per hour, right for live deliveries, for a past log written
//! into the database (hours placed, older attempts left out, the same rate as the webhook's
//! page), and for a busy webhook (every attempt counted, from the hours the recorder keeps).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::dashboard::{page, tenant_session};
use crate::helpers::{TestApp, TestReceiver, eventually};
use crate::history::{self, Past};

backend_tests!(
    the_webhooks_list_shows_each_webhooks_rate_and_hours_exactly,
    the_webhooks_list_pages_on_by_id,
);

const HOUR_MS: i64 = 3_600_000;

fn now_ms() -> i64 {
    hookrelay::clock::now_ms()
}

/// The list's row of the webhook whose URL ends with `path`.
fn row<'a>(html: &'a str, path: &str) -> &'a str {
    let at = html
        .find(&format!("{path}</a>"))
        .unwrap_or_else(|| panic!("no row for {path}: {html}"));
    let end = html[at..].find("</tr>").unwrap() + at;
    &html[at..end]
}

async fn the_webhooks_list_shows_each_webhooks_rate_and_hours_exactly(app: &mut TestApp) {
    let app = &*app;
    let receiver = TestReceiver::spawn().await;
    app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let mut ids = Vec::new();
    // Only the first takes the events published below.
    for (path, events) in [
        ("/live", "order.*"),
        ("/quiet", "user.*"),
        ("/past", "user.*"),
        ("/busy", "user.*"),
    ] {
        let w = app
            .create_tenant_webhook(
                "acme",
                json!({"url": receiver.url(path), "retry_schedule": [], "events": [events]}),
            )
            .await;
        ids.push(w["id"].as_str().unwrap().to_owned());
    }
    let theirs = app
        .create_tenant_webhook("globex", json!({"url": receiver.url("/theirs")}))
        .await;

    // Live: one failure, three successes, through the real pipeline.
    receiver.script(&[500, 200, 200, 200]);
    for _ in 0..4 {
        app.publish(json!({"type": "order.created", "tenant": "acme", "data": {}}))
            .await;
    }
    eventually(Duration::from_secs(20), "four finished", || async {
        let path = format!("/v1/tenants/acme/webhooks/{}/deliveries", ids[0]);
        let list = app.get(&path).await.1["data"].as_array().unwrap().clone();
        list.len() == 4 && list.iter().all(|d| d["status"] != "pending")
    })
    .await;

    // Past: two successes and a failure five hours ago, a success 30 hours ago (outside).
    let now = now_ms();
    let this_hour = now - now % HOUR_MS;
    let five_ago = this_hour - 5 * HOUR_MS + 60_000;
    let past = |at, succeeded| Past {
        at,
        succeeded,
        event_type: "order.created",
    };
    history::write(
        app,
        "acme",
        &ids[2],
        &[
            past(now - 30 * HOUR_MS, true),
            past(five_ago, true),
            past(five_ago + 1, false),
            past(five_ago + 2, true),
        ],
    )
    .await;
    // Busy: 12,000 attempts a quarter second apart, one in ten failed: more than the 10,000
    // the pages once read, all counted.
    let end = now - 60_000;
    let busy: Vec<Past<'_>> = (0..12_000)
        .map(|n| past(end - (11_999 - n) * 250, n % 10 != 0))
        .collect();
    history::write(app, "acme", &ids[3], &busy).await;
    // Another tenant's attempts count for nothing here.
    history::write(
        app,
        "globex",
        theirs["id"].as_str().unwrap(),
        &[past(now - 1000, false)],
    )
    .await;

    let cookie = tenant_session(app, "acme").await;
    let (status, html) = page(app, &cookie, "/dashboard/t/acme/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("/theirs"), "{html}");

    let live = row(&html, "/live");
    assert!(live.contains(">75.0 %<"), "{live}");
    assert!(
        live.contains(
            "role=\"img\" aria-label=\"Attempts per hour, last 24 hours: 3 succeeded, 1 failed\""
        ),
        "{live}"
    );
    assert!(live.contains("<title>Attempts per hour"), "{live}");

    assert!(row(&html, "/quiet").contains("no attempts"));
    assert!(!row(&html, "/quiet").contains("<svg"));

    let old = row(&html, "/past");
    assert!(old.contains(">66.7 %<"), "{old}");
    assert!(old.contains("2 succeeded, 1 failed\""), "{old}");
    // Five hours back is bar 18 of 24 (17 if the hour turned since `now`).
    let bar = (18..=18)
        .chain(17..=17)
        .find(|h| old.contains(&format!("data-hour=\"{h}\" data-succeeded=\"2\"")))
        .unwrap_or_else(|| panic!("no bar of two successes five hours back: {old}"));
    assert!(
        old.contains(&format!("data-hour=\"{bar}\" data-failed=\"1\"")),
        "{old}"
    );

    let busy = row(&html, "/busy");
    assert!(busy.contains(">90.0 %<"), "{busy}");
    assert!(busy.contains("10800 succeeded, 1200 failed\""), "{busy}");

    // The webhook's own page agrees over the same 24 hours.
    let (_, html) = page(
        app,
        &cookie,
        &format!("/dashboard/t/acme/webhooks/{}", ids[2]),
    )
    .await;
    let at = html.find("Success, last 24 hours").unwrap();
    assert!(
        html[at..].starts_with("Success, last 24 hours</dt><dd>66.7 %"),
        "{html}"
    );
}

async fn the_webhooks_list_pages_on_by_id(app: &mut TestApp) {
    let app = &*app;
    app.create_tenant("acme").await;
    let mut urls = Vec::new();
    for n in 0..130 {
        let url = format!("https://hooks.example.com/n{n:03}");
        app.create_tenant_webhook("acme", json!({"url": url})).await;
        urls.push(url);
    }
    let cookie = tenant_session(app, "acme").await;
    let (status, first) = page(app, &cookie, "/dashboard/t/acme/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        first.matches("<tr>").count() - 1,
        100,
        "a header and 100 rows"
    );
    assert!(!first.contains("id=\"first-page\""));
    let at = first.find("id=\"next-page\" href=\"").expect("a next page") + 21;
    let next = &first[at..at + first[at..].find('"').unwrap()];
    let (status, second) = page(app, &cookie, &next.replace("&amp;", "&")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second.matches("<tr>").count() - 1, 30);
    assert!(second.contains("id=\"first-page\""));
    assert!(!second.contains("id=\"next-page\""));
    // Every webhook on exactly one page (ids are time-ordered, so in creation order).
    for url in &urls {
        let on = [&first, &second]
            .iter()
            .filter(|html| html.contains(&format!("{url}</a>")))
            .count();
        assert_eq!(on, 1, "{url}");
    }
    let (status, past) = page(app, &cookie, "/dashboard/t/acme/webhooks?after=wh_~").await;
    assert_eq!(status, StatusCode::OK);
    assert!(past.contains("No more webhooks."), "{past}");
}
