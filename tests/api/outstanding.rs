//! Everything outstanding dies with a password change or a state change: reset links and
//! OTP challenges end when the password changes by any way, when the account is disabled,
//! locked or frozen (for good), and links when the address changes; `expires=false` links
//! have a server-side maximum.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{ciam_post as post, client, code_to, create_user, redeem, reset_url, TestApp};

fn unique_email(tag: &str) -> String {
    format!("{}@example.com", resetd_ports::testkit::unique(tag))
}

async fn link(app: &TestApp, token: &str, id: &str, query: &str) -> String {
    reset_url(app, token, id, query).await["password_reset_url"].as_str().unwrap().to_owned()
}

async fn send_code(app: &TestApp, web: &crate::helpers::Creds, email: &str) -> (String, String) {
    let (status, sent) = post(app, "/otp/send", web, json!({"usage": "reset_password", "email": email})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    (sent["otp_token"].as_str().unwrap().to_owned(), code_to(email).await)
}

fn reset_body(email: &str, token: &str, code: &str, password: &str) -> Value {
    json!({"password": password, "email": email, "email_otp_token": token, "email_otp": code})
}

/// Fails on the main of before Hardening I: an OTP reset left the Looker link alive, and a
/// link reset left the OTP challenge alive.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_password_change_by_either_way_ends_the_other_ways(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| s.otp.destination_cooldown_secs = 1).await;
    let admin = app.admin_token(true).await;
    let web = client(&app, "web").await;
    let email = unique_email("both");
    let id = create_user(&app, &admin, &email).await;

    let url = link(&app, &admin, &id, "?expires=true").await;
    let (otp, code) = send_code(&app, &web, &email).await;
    let (status, _) =
        post(&app, "/reset_user_password", &web, reset_body(&email, &otp, &code, "Tr4vel-by-Zeppelin")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(redeem(&app, &url, "Another-Zeppelin-9").await.status(), StatusCode::NOT_FOUND, "the link died");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (otp, code) = send_code(&app, &web, &email).await;
    let url = link(&app, &admin, &id, "?expires=true").await;
    assert_eq!(redeem(&app, &url, "Another-Zeppelin-9").await.status(), StatusCode::OK);
    let (status, body) =
        post(&app, "/reset_user_password", &web, reset_body(&email, &otp, &code, "Third-Zeppelin-7")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_email_otp_token")),
        "the code died"
    );
}

/// Fails on the main of before Hardening I: a disabled user's link redeemed after re-enabling,
/// and a link mailed to an old address still redeemed after the address changed.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_status_or_address_change_ends_the_link_for_good(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let admin = app.admin_token(true).await;
    let id = create_user(&app, &admin, &unique_email("state")).await;
    let patch = |path: String, body: Value| app.http.patch(app.url(&path)).bearer_auth(&admin).json(&body).send();

    let url = link(&app, &admin, &id, "?expires=false").await;
    assert_eq!(patch(format!("/api/4.0/users/{id}"), json!({"is_disabled": true})).await.unwrap().status(), 200);
    assert_eq!(patch(format!("/api/4.0/users/{id}"), json!({"is_disabled": false})).await.unwrap().status(), 200);
    assert_eq!(
        redeem(&app, &url, "Tr4vel-by-Zeppelin").await.status(),
        StatusCode::NOT_FOUND,
        "dead after re-enabling"
    );

    for status in ["locked", "frozen"] {
        let url = link(&app, &admin, &id, "?expires=false").await;
        app.app.bootstrap.set_user_status(&id, status).await.unwrap();
        app.app.bootstrap.set_user_status(&id, "active").await.unwrap();
        assert_eq!(redeem(&app, &url, "Tr4vel-by-Zeppelin").await.status(), StatusCode::NOT_FOUND, "{status}");
    }

    let url = link(&app, &admin, &id, "?expires=false").await;
    let moved = patch(format!("/api/4.0/users/{id}/credentials_email"), json!({"email": unique_email("moved")}));
    assert_eq!(moved.await.unwrap().status(), StatusCode::OK);
    assert_eq!(redeem(&app, &url, "Tr4vel-by-Zeppelin").await.status(), StatusCode::NOT_FOUND, "a new address");

    let url = link(&app, &admin, &id, "?expires=false").await;
    assert_eq!(redeem(&app, &url, "Tr4vel-by-Zeppelin").await.status(), StatusCode::OK, "a fresh link still works");
}

/// Fails on the main of before Hardening I: `expires=false` links lived for ever.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_non_expiring_link_dies_at_the_servers_maximum(pool: PgPool) {
    let clock = std::sync::Arc::new(resetd_ports::testkit::ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_full(&pool, |s| s.links.max_lifetime_days = 2, clock.clone()).await;
    let admin = app.admin_token(true).await;
    let id = create_user(&app, &admin, &unique_email("forever")).await;
    let url = link(&app, &admin, &id, "?expires=false").await;
    clock.advance(Duration::from_secs(2 * 86_400 - 1));
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), StatusCode::OK, "alive just before");
    clock.advance(Duration::from_secs(1));
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND, "dead at the maximum");
}
