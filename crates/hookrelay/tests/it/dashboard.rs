//! The dashboard over plain HTTP, on both backends (sessions and links live in the store):
//! sign-in both ways, single-use links, tenant scoping, CSRF, sign-out and security headers.
//! `dashboard_browser.rs` drives the same pages in a real browser.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{ADMIN_KEY, TestApp};

backend_tests!(
    a_minted_link_signs_a_tenant_in_once_and_only_to_its_own_pages,
    the_operator_signs_in_with_the_admin_key_and_forms_need_the_session_token,
    a_key_pair_webhook_shows_its_public_key_and_never_its_private_key,
);

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The session cookie a sign-in answer sets, as a `Cookie` header value.
pub(crate) fn session_cookie(resp: &reqwest::Response) -> String {
    let set = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    set.split(';').next().unwrap().to_owned()
}

/// The CSRF token of a page's forms.
pub(crate) fn csrf(html: &str) -> String {
    let at = html
        .find("name=\"_csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &html[at + "name=\"_csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

pub(crate) async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let resp = client()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// A session of tenant `tid`, opened through a link the operator minted.
pub(crate) async fn tenant_session(app: &TestApp, tid: &str) -> String {
    let (status, link) = app
        .post(&format!("/v1/tenants/{tid}/dashboard-link"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let resp = client()
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    session_cookie(&resp)
}

/// The operator's session.
pub(crate) async fn operator_session(app: &TestApp) -> String {
    let resp = client()
        .post(app.url("/dashboard/login"))
        .form(&[("admin_key", ADMIN_KEY)])
        .send()
        .await
        .unwrap();
    session_cookie(&resp)
}

/// Posts a form with the session's cookie; answers the status, `Location` and body.
pub(crate) async fn post_form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let resp = client()
        .post(app.url(path))
        .header(COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    let location = resp
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (resp.status(), location, resp.text().await.unwrap())
}

async fn a_minted_link_signs_a_tenant_in_once_and_only_to_its_own_pages(app: &mut TestApp) {
    let key = app.create_tenant("acme").await;
    app.create_tenant("globex").await;
    let (status, link) = app.post("/v1/tenants/acme/dashboard-link", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(
        url.starts_with(&app.url("/dashboard/login?token=")),
        "{url}"
    );
    assert!(link["expires_at"].is_string());

    let resp = client().get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/dashboard");
    let cookie = session_cookie(&resp);
    let again = client().get(url).send().await.unwrap();
    assert_eq!(
        again.status(),
        StatusCode::UNAUTHORIZED,
        "a link opens one session"
    );
    assert!(again.headers().get(SET_COOKIE).is_none());

    let (status, html) = page(app, &cookie, "/dashboard/t/acme/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No webhooks yet"), "{html}");
    for other in [
        "/dashboard/t/globex/webhooks",
        "/dashboard/t/default/webhooks",
        "/dashboard/tenants",
    ] {
        assert_eq!(
            page(app, &cookie, other).await.0,
            StatusCode::NOT_FOUND,
            "{other}"
        );
    }

    // Signing out ends the session server-side: the old cookie signs nobody in.
    let resp = client()
        .post(app.url("/dashboard/logout"))
        .header(COOKIE, &cookie)
        .form(&[("_csrf", csrf(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (status, _) = page(app, &cookie, "/dashboard/t/acme/webhooks").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out");

    // A tenant's own backend mints links with its key, for itself only.
    let (status, own) = app
        .call(
            reqwest::Method::POST,
            "/v1/dashboard-link",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let resp = client()
        .get(own["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&resp);
    assert_eq!(
        page(app, &cookie, "/dashboard/t/acme/webhooks").await.0,
        StatusCode::OK
    );
    let (status, _) = app
        .call(
            reqwest::Method::POST,
            "/v1/tenants/globex/dashboard-link",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .post("/v1/tenants/nobody/dashboard-link", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

async fn the_operator_signs_in_with_the_admin_key_and_forms_need_the_session_token(
    app: &mut TestApp,
) {
    let root = client().get(app.url("/")).send().await.unwrap();
    assert_eq!(root.headers()[LOCATION], "/dashboard");
    let login = client()
        .get(app.url("/dashboard/login"))
        .send()
        .await
        .unwrap();
    let csp = login.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );

    let wrong = client()
        .post(app.url("/dashboard/login"))
        .form(&[("admin_key", "not-the-key")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    let foreign = client()
        .post(app.url("/dashboard/login"))
        .header("origin", "https://evil.example")
        .form(&[("admin_key", ADMIN_KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign.status(),
        StatusCode::FORBIDDEN,
        "a cross-site sign-in is refused"
    );

    let resp = client()
        .post(app.url("/dashboard/login"))
        .form(&[("admin_key", ADMIN_KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&resp);
    let (status, html) = page(app, &cookie, "/dashboard/tenants").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("default"), "{html}");

    // A form without the session's token changes nothing.
    let forged = client()
        .post(app.url("/dashboard/tenants"))
        .header(COOKIE, &cookie)
        .form(&[("id", "forged"), ("_csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/v1/tenants/forged").await.0, StatusCode::NOT_FOUND);
    let made = client()
        .post(app.url("/dashboard/tenants"))
        .header(COOKIE, &cookie)
        .form(&[("id", "initech"), ("_csrf", &csrf(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/v1/tenants/initech").await.0, StatusCode::OK);
    // The operator sees any tenant's pages.
    assert_eq!(
        page(app, &cookie, "/dashboard/t/initech/webhooks").await.0,
        StatusCode::OK
    );
    assert_eq!(
        page(app, &cookie, "/dashboard/t/nobody/webhooks").await.0,
        StatusCode::NOT_FOUND
    );
}

async fn a_key_pair_webhook_shows_its_public_key_and_never_its_private_key(app: &mut TestApp) {
    let private = hookrelay_signature::generate_signing_key_string(&[7; 32]);
    let (status, webhook) = app
        .post(
            "/v1/webhooks",
            json!({
                "url": "http://127.0.0.1:9/h",
                "signature": {"scheme": "standard-webhooks-v1a"},
                "secret": private,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    let public = webhook["public_key"].as_str().unwrap();
    let resp = client()
        .post(app.url("/dashboard/login"))
        .form(&[("admin_key", ADMIN_KEY)])
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&resp);
    let base = format!(
        "/dashboard/t/default/webhooks/{}",
        webhook["id"].as_str().unwrap()
    );
    for path in [base.clone(), format!("{base}?reveal=1")] {
        let (status, html) = page(app, &cookie, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(public), "{path}: {html}");
        assert!(
            !html.contains(&private) && !html.contains("whsk_"),
            "{path}: {html}"
        );
    }
}
