//! The webhook page's delivery log over a long history, on both backends: a filter that
//! matches almost nothing reads a bounded number of deliveries per page and says how far back
//! it searched, and following its links ("Older deliveries", "Search older") lists every
//! matching delivery exactly once, newest first; a time filter ends the search at its start;
//! the chart's window links keep the filters and the filters keep the window.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::dashboard::{page, tenant_session};
use crate::helpers::{TestApp, TestReceiver};
use crate::history::{self, Past};

backend_tests!(paging_through_a_sparse_filter_finds_every_match_once_with_bounded_reads,);

/// More than two pages' scans (10,000 deliveries each), a second apart.
const HISTORY: usize = 25_000;
/// Where the rare event type is, by position in the history (oldest first).
const RARE: [usize; 5] = [3, 5_000, 12_345, 12_346, 24_990];

/// The delivery ids a log page lists, and its links on.
fn listed(html: &str) -> (Vec<String>, Option<String>, Option<String>) {
    let ids = html
        .split("href=\"/dashboard/t/acme/deliveries/")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect();
    let link = |id: &str| {
        let start = format!("id=\"{id}\" href=\"");
        html.find(&start).map(|at| {
            let rest = &html[at + start.len()..];
            rest[..rest.find('"').unwrap()].replace("&amp;", "&")
        })
    };
    (ids, link("older"), link("search-older"))
}

/// Follows a filtered log from `first` to its end: every id listed, and how many pages said
/// how far back they searched.
async fn walk(app: &TestApp, cookie: &str, first: &str) -> (Vec<String>, usize) {
    let mut all = Vec::new();
    let mut searched = 0;
    let mut next = Some(first.to_owned());
    while let Some(path) = next.take() {
        let (status, html) = page(app, cookie, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let (ids, older, search_older) = listed(&html);
        assert!(ids.len() <= 50, "{path}");
        if search_older.is_some() {
            assert!(html.contains("id=\"searched-to\""), "{html}");
            searched += 1;
        }
        all.extend(ids);
        next = older.or(search_older);
        assert!(all.len() < HISTORY, "no end");
    }
    (all, searched)
}

async fn paging_through_a_sparse_filter_finds_every_match_once_with_bounded_reads(
    app: &mut TestApp,
) {
    let app = &*app;
    let receiver = TestReceiver::spawn().await;
    app.create_tenant("acme").await;
    let w = app
        .create_tenant_webhook("acme", json!({"url": receiver.url("/in")}))
        .await;
    let id = w["id"].as_str().unwrap();
    let end = hookrelay::clock::now_ms() - 60_000;
    let log: Vec<Past<'_>> = (0..HISTORY)
        .map(|n| Past {
            at: end - (HISTORY - 1 - n) as i64 * 1000,
            succeeded: n % 97 != 0,
            event_type: if RARE.contains(&n) {
                "order.refunded"
            } else {
                "order.created"
            },
        })
        .collect();
    let ids = history::write(app, "acme", id, &log).await;
    let newest_first = |keep: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..HISTORY)
            .rev()
            .filter(|&n| keep(n))
            .map(|n| ids[n].clone())
            .collect()
    };
    let cookie = tenant_session(app, "acme").await;
    let base = format!("/dashboard/t/acme/webhooks/{id}");

    // Five matches over 25,000: three bounded pages, two of them saying how far they searched.
    let (found, searched) = walk(app, &cookie, &format!("{base}?event_type=order.refunded")).await;
    assert_eq!(found, newest_first(&|n| RARE.contains(&n)));
    assert_eq!(searched, 2);
    let (_, html) = page(app, &cookie, &format!("{base}?event_type=order.refunded")).await;
    assert!(html.contains("Searched the deliveries back to "), "{html}");

    // 258 failures: full pages where a scan holds them, short ones where it does not.
    let (found, _) = walk(app, &cookie, &format!("{base}?status=failed")).await;
    assert_eq!(found, newest_first(&|n| n % 97 == 0));

    // A filter that matches nothing within a scan says so.
    let (_, html) = page(app, &cookie, &format!("{base}?event_type=user.created")).await;
    assert!(
        html.contains("No match among the deliveries back to "),
        "{html}"
    );
    assert!(!html.contains("id=\"log\""), "{html}");

    // The last hour is under a scan: its one rare delivery, and the search ends there.
    let (found, searched) = walk(
        app,
        &cookie,
        &format!("{base}?event_type=order.refunded&period=1h"),
    )
    .await;
    assert_eq!(found, [ids[24_990].clone()]);
    assert_eq!(searched, 0);

    // Unfiltered, every page is full until the last.
    let (status, html) = page(app, &cookie, &base).await;
    assert_eq!(status, StatusCode::OK);
    let (first, older, search_older) = listed(&html);
    assert_eq!(first, newest_first(&|_| true)[..50]);
    assert!(older.is_some() && search_older.is_none());

    // The chart's windows keep the log's filters, and the filters and pages keep the window.
    let (_, html) = page(
        app,
        &cookie,
        &format!("{base}?status=failed&event_type=order.refunded&window=7d"),
    )
    .await;
    assert!(
        html.contains(&format!(
            "href=\"{base}?status=failed&amp;event_type=order.refunded&amp;window=30d#activity\""
        )),
        "{html}"
    );
    assert!(
        html.contains("<input type=\"hidden\" name=\"window\" value=\"7d\">"),
        "{html}"
    );
    let (_, _, search_older) = listed(&html);
    assert!(search_older.unwrap().contains("&window=7d&cursor="));
}
