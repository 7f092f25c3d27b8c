//! The breached-password check against a real local stand-in of the k-anonymity range API:
//! a breached password is refused in the Looker JSON answer and on the page (the CIAM reset
//! shares the step: its dialect's words are covered by the app's unit tests), only the
//! five-digit prefix is asked for, and `breached.fail_open` decides what a service that does
//! not answer means.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::Value;
use sha1::{Digest as _, Sha1};
use sqlx::PgPool;

use crate::helpers::{create_user, redeem, reset_url, TestApp};

/// Passes the default policy; the stand-in lists it as breached.
const BREACHED: &str = "Zeppelin-Pilot-1937";
/// Passes the default policy; the stand-in does not list it.
const FRESH: &str = "Tr4vel-by-Zeppelin";

/// A local range API: answers `GET /range/{prefix}` with the suffix of [`BREACHED`] when the
/// prefix is its own (plus a padding line seen zero times), and records every path asked for.
struct RangeApi {
    base: String,
    asked: Arc<Mutex<Vec<String>>>,
}

impl RangeApi {
    async fn start() -> Self {
        let hex = hex::encode_upper(Sha1::digest(BREACHED.as_bytes()));
        let (prefix, suffix) = (hex[..5].to_owned(), hex[5..].to_owned());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = asked.clone();
        let router = axum::Router::new().route(
            "/range/{prefix}",
            axum::routing::get(move |axum::extract::Path(asked): axum::extract::Path<String>| {
                seen.lock().unwrap().push(asked.clone());
                let padding = "0018A45C4D1DEF81644B54AB7F969B88D65:0";
                let body = if asked == prefix { format!("{suffix}:12\r\n{padding}") } else { padding.to_owned() };
                async move { body }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/range/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { base, asked }
    }
}

async fn link(app: &TestApp) -> String {
    let token = app.admin_token(true).await;
    let id = create_user(app, &token, &format!("{}@example.com", resetd_ports::testkit::unique("breach"))).await;
    reset_url(app, &token, &id, "?expires=true").await["password_reset_url"].as_str().unwrap().to_owned()
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_breached_password_is_refused_and_only_its_prefix_leaves(pool: PgPool) {
    let range = RangeApi::start().await;
    let api_url = range.base.clone();
    let app = TestApp::spawn_with(&pool, |s| s.breached.api_url = api_url).await;
    let url = link(&app).await;
    let page = app.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Not in a list of breached passwords."), "the page says so beforehand");

    let refused = redeem(&app, &url, BREACHED).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["message"], "The password appears in a list of breached passwords.", "{body}");

    // The page says it in the reader's language, and the link still works.
    let token = url.rsplit('/').next().unwrap();
    let form = [("token", token), ("password", BREACHED)];
    let page = app.http.post(app.url("/password/reset")).header("accept-language", "es").form(&form).send().await;
    let page = page.unwrap();
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().await.unwrap().contains("aparece en una lista de contraseñas filtradas"));
    assert_eq!(redeem(&app, &url, FRESH).await.status(), StatusCode::OK, "a fresh password goes through");

    let asked = range.asked.lock().unwrap().clone();
    assert!(!asked.is_empty() && asked.iter().all(|p| p.len() == 5), "only five-digit prefixes: {asked:?}");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn an_unreachable_service_fails_open_or_closed_as_configured(pool: PgPool) {
    // A service that takes the connection and never answers (held for the whole test).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/range/", silent.local_addr().unwrap());
    let open = closed.clone();
    let app = TestApp::spawn_with(&pool, |s| s.breached.api_url = open).await;
    let url = link(&app).await;
    assert_eq!(redeem(&app, &url, FRESH).await.status(), StatusCode::OK, "fail_open: the password is accepted");

    let app = TestApp::spawn_with(&pool, |s| {
        s.breached.api_url = closed;
        s.breached.fail_open = false;
    })
    .await;
    let url = link(&app).await;
    let r = redeem(&app, &url, FRESH).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "The service is temporarily unavailable. Please try again later.", "{body}");
    assert_eq!(redeem(&app, &url, FRESH).await.status(), StatusCode::SERVICE_UNAVAILABLE, "the link is still live");
    drop(silent);
}
