//! `dashboard`: how long the dashboard's main pages take with a large delivery log. A tenant
//! gets ten webhooks through the API; then, with hookrelay stopped, 1,000,000 deliveries (
//! 20,000 at `--scale small`) over the last 30 days are written straight into the database
//! (`log_fill.rs`), nine in ten to one busy webhook. hookrelay starts again (API only, so no
//! retention pass purges the oldest), a tenant signs in through a dashboard link and the
//! operator with the admin key, and each page is fetched a few dozen times in turn, one
//! request at a time: the median and p99 of the time to the last byte are reported per page
//! (`<page>_p50_ms`, `<page>_p99_ms`). Every answer must be 200 (`--check` asks no more).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hookrelay_client::{NewEventType, NewTenant, NewWebhook};
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};

use super::log_fill::{Dialect, EVENT_TYPES, Fill};
use super::{Ctx, start_server};
use crate::api::Api;
use crate::database::{Backend, Database};
use crate::report::Report;
use crate::server::ADMIN_KEY;
use crate::stats::Percentiles;

const TENANT: &str = "acme";
const WEBHOOKS: usize = 10;

/// Runs the scenario once, filling `report`.
pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let deliveries = ctx.scale.pick(1_000_000, 20_000);
    let requests = ctx.scale.pick(36, 8);
    let db = Database::create(&ctx.backend)?;

    let (server, api) = start_server(ctx, &db, false, "setup.log").await?;
    let webhooks = setup(&api).await?;
    server.stop().await?;

    let fill = Fill {
        deliveries,
        tenant: TENANT,
        busy: &webhooks[0],
        others: &webhooks[1..],
        until_ms: now_ms() - 60_000,
    };
    let dialect = match ctx.backend {
        Backend::Sqlite => Dialect::Sqlite,
        Backend::Postgres { .. } => Dialect::Postgres,
    };
    let started = Instant::now();
    db.run_script(&fill.script(dialect))?;
    let fill_s = started.elapsed().as_secs_f64();

    let (server, api) = start_server(ctx, &db, false, "pages.log").await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let tenant = tenant_cookie(&client, &api, &server.base_url).await?;
    let operator = operator_cookie(&client, &server.base_url).await?;
    let busy = format!("/dashboard/t/{TENANT}/webhooks/{}", webhooks[0]);
    let first = fetch(&client, &server.base_url, &tenant, &busy).await?;
    let older = between(&first, "id=\"older\" href=\"", "\"")
        .context("the busy webhook's log has no older page")?
        .replace("&amp;", "&");
    let delivery = between(
        &first,
        &format!("href=\"/dashboard/t/{TENANT}/deliveries/"),
        "\"",
    )
    .context("the busy webhook's log lists no delivery")?;
    let pages = [
        ("list", format!("/dashboard/t/{TENANT}/webhooks"), &tenant),
        ("webhook", busy.clone(), &tenant),
        ("webhook_30d", format!("{busy}?window=30d"), &tenant),
        ("log_older", older, &tenant),
        (
            "log_filtered",
            format!("{busy}?status=failed&event_type={}", EVENT_TYPES[0]),
            &tenant,
        ),
        (
            "log_no_match",
            format!("{busy}?status=failed&event_type={}", EVENT_TYPES[1]),
            &tenant,
        ),
        (
            "delivery",
            format!("/dashboard/t/{TENANT}/deliveries/{delivery}"),
            &tenant,
        ),
        ("system", "/dashboard/system".to_owned(), &operator),
    ];
    report
        .set("deliveries", deliveries)
        .set("webhooks", WEBHOOKS)
        .set_f("fill_s", fill_s, 1);
    let mut slowest = 0.0f64;
    for (name, path, cookie) in &pages {
        for _ in 0..2 {
            fetch(&client, &server.base_url, cookie, path).await?;
        }
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let started = Instant::now();
            fetch(&client, &server.base_url, cookie, path).await?;
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        if let Some(p) = Percentiles::of(&mut times) {
            report.set_f(&format!("{name}_p50_ms"), p.p50, 1).set_f(
                &format!("{name}_p99_ms"),
                p.p99,
                1,
            );
            slowest = slowest.max(p.p50);
        }
    }
    report.set_f("slowest_p50_ms", slowest, 1);
    let stats = server.stop().await?;
    report.set_f("peak_rss_mb", stats.hwm_kb as f64 / 1024.0, 1);
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The tenant, its webhooks (ids; the first is the busy one) and the catalog.
async fn setup(api: &Api) -> anyhow::Result<Vec<String>> {
    let client = api.client();
    client
        .create_tenant(&NewTenant {
            name: Some("Acme".into()),
            ..NewTenant::new(TENANT)
        })
        .await?;
    for name in EVENT_TYPES {
        let event_type = NewEventType {
            name: (*name).into(),
            description: Some(format!("A {name} event.")),
            ..NewEventType::default()
        };
        client.create_event_type(&event_type).await?;
    }
    let tenant = client.in_tenant(TENANT);
    let mut ids = Vec::with_capacity(WEBHOOKS);
    for n in 0..WEBHOOKS {
        let webhook = NewWebhook {
            description: Some(format!("webhook {n}")),
            ..NewWebhook::new(format!("http://127.0.0.1:9/hook/{n}"))
        };
        ids.push(tenant.create_webhook(&webhook).await?.id);
    }
    Ok(ids)
}

/// The session cookie a sign-in answer sets.
fn session(response: &reqwest::Response) -> anyhow::Result<String> {
    let set = response
        .headers()
        .get(SET_COOKIE)
        .context("sign-in set no cookie")?
        .to_str()?;
    Ok(set.split(';').next().unwrap_or_default().to_owned())
}

/// Signs the tenant in through a dashboard link.
async fn tenant_cookie(client: &reqwest::Client, api: &Api, base: &str) -> anyhow::Result<String> {
    let link = api.client().create_tenant_dashboard_link(TENANT).await?;
    let url = link.url.as_str();
    let path = url.find("/dashboard/").map_or(url, |i| &url[i..]);
    session(&client.get(format!("{base}{path}")).send().await?)
}

/// Signs the operator in with the admin key.
async fn operator_cookie(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/dashboard/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("admin_key={ADMIN_KEY}"))
        .send()
        .await?;
    session(&response)
}

/// A page's HTML; anything but 200 is an error.
async fn fetch(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    path: &str,
) -> anyhow::Result<String> {
    let response = client
        .get(format!("{base}{path}"))
        .header(COOKIE, cookie)
        .send()
        .await
        .with_context(|| format!("GET {path}"))?;
    let status = response.status();
    let body = response.text().await?;
    if status != reqwest::StatusCode::OK {
        bail!("GET {path} answered {status}");
    }
    Ok(body)
}

/// The text between the first `start` and the next `end` after it.
fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = from + text[from..].find(end)?;
    Some(text[from..to].to_owned())
}
