//! Headers that keep tokens and links out of caches, frames and Referers.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{client, create_user, reset_url, TestApp};

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// Fails on the main of before Hardening II: the page had an inline style and no CSP, and
/// the API answers that carry tokens had no `Cache-Control`.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn pages_send_a_strict_csp_and_token_answers_are_never_cached(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let id = create_user(&app, &token, &format!("{}@example.com", resetd_ports::testkit::unique("hdr"))).await;
    let url = reset_url(&app, &token, &id, "?expires=true").await["password_reset_url"].as_str().unwrap().to_owned();

    let page = app.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = header(&page, "content-security-policy").to_owned();
    for directive in ["default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"] {
        assert!(csp.contains(directive), "{directive} in {csp:?}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "referrer-policy"), "no-referrer");
    assert_eq!(header(&page, "cache-control"), "no-store");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<style") && !html.contains(" style="), "no inline style");
    assert!(html.split("<script").skip(1).all(|tag| tag.starts_with(" src=\"/")), "scripts only as files of ours");
    let js_path = html.split("<script src=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let js = app.http.get(app.url(&js_path)).send().await.unwrap();
    assert_eq!((js.status(), header(&js, "content-type")), (StatusCode::OK, "text/javascript; charset=utf-8"));
    let css_path = html.split("href=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let css = app.http.get(app.url(&css_path)).send().await.unwrap();
    assert_eq!((css.status(), header(&css, "content-type")), (StatusCode::OK, "text/css; charset=utf-8"));

    let login = app.http.post(app.url("/api/4.0/login")).form(&[("client_id", "x"), ("client_secret", "y")]);
    assert_eq!(header(&login.send().await.unwrap(), "cache-control"), "no-store");
    let minted = app
        .http
        .post(app.url(&format!("/api/4.0/users/{id}/credentials_email/password_reset")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!((minted.status(), header(&minted, "cache-control")), (StatusCode::OK, "no-store"));
    let web = client(&app, "web").await;
    let sent = app
        .http
        .post(app.url("/otp/send"))
        .basic_auth(&web.id, web.secret.as_deref())
        .json(&json!({"usage": "reset_password", "email": "nobody-hdr@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!((sent.status(), header(&sent, "cache-control")), (StatusCode::OK, "no-store"));
}
