//! The client address behind a load balancer: forwarding headers count only from trusted
//! proxies, and an IPv6 client is one /64.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{client, Creds, TestApp};

async fn send_from(app: &TestApp, web: &Creds, forwarded_for: &str) -> StatusCode {
    let to = format!("{}@example.com", resetd_ports::testkit::unique("fwd"));
    let r = app
        .http
        .post(app.url("/otp/send"))
        .basic_auth(&web.id, web.secret.as_deref())
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"usage": "reset_password", "email": to}))
        .send()
        .await
        .unwrap();
    r.status()
}

/// New in Hardening II (before, every client behind a balancer shared the balancer's limit,
/// and a client could not be told apart at all).
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn forwarding_headers_count_only_from_trusted_proxies(pool: PgPool) {
    let untrusting = TestApp::spawn_with(&pool, |s| s.otp.per_ip_per_minute = 1).await;
    let web = client(&untrusting, "web").await;
    assert_eq!(send_from(&untrusting, &web, "198.51.100.1").await, StatusCode::OK);
    assert_eq!(
        send_from(&untrusting, &web, "198.51.100.2").await,
        StatusCode::TOO_MANY_REQUESTS,
        "an untrusted peer cannot pick its address"
    );

    let behind = TestApp::spawn_with(&pool, |s| {
        s.otp.per_ip_per_minute = 1;
        s.server.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let web = client(&behind, "web").await;
    assert_eq!(send_from(&behind, &web, "198.51.100.1").await, StatusCode::OK);
    assert_eq!(send_from(&behind, &web, "198.51.100.2").await, StatusCode::OK, "another client");
    assert_eq!(
        send_from(&behind, &web, "203.0.113.66, 198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the right-most untrusted address, whatever is claimed left of it"
    );
    assert_eq!(send_from(&behind, &web, "2001:db8:1:2::1").await, StatusCode::OK);
    assert_eq!(send_from(&behind, &web, "2001:db8:1:2:ffff::9").await, StatusCode::TOO_MANY_REQUESTS, "one /64");
    assert_eq!(send_from(&behind, &web, "2001:db8:1:3::1").await, StatusCode::OK, "the next /64");
}
