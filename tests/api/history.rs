//! The password history is never shortened by a weaker policy.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{ciam_post as post, code_to, Creds, TestApp};

async fn client(app: &TestApp, preset: &str) -> Creds {
    let policy = resetd_app::bootstrap::ClientPolicy::Preset(preset.into());
    let c = app.app.bootstrap.create_client("web", preset, policy).await.unwrap();
    Creds { id: c.client_id.as_str().to_owned(), secret: c.client_secret.map(|s| s.expose().to_owned()) }
}

async fn reset(app: &TestApp, via: &Creds, email: &str, password: &str) -> (StatusCode, serde_json::Value) {
    tokio::time::sleep(Duration::from_millis(1100)).await; // the destination's cooldown
    let (status, sent) = post(app, "/otp/send", via, json!({"usage": "reset_password", "email": email})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let code = code_to(email).await;
    let body = json!({"password": password, "email": email, "email_otp_token": sent["otp_token"], "email_otp": code});
    post(app, "/reset_user_password", via, body).await
}

/// Fails on the main of before Hardening II: each change trimmed the history to its own
/// policy's count, so two changes through a client keeping one entry erased what a client
/// keeping three still had to refuse.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_weak_policy_does_not_trim_what_a_strong_one_checks(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| s.otp.destination_cooldown_secs = 1).await;
    let (weak, medium) = (client(&app, "weak").await, client(&app, "medium").await);
    let email = format!("{}@example.com", resetd_ports::testkit::unique("hist"));
    app.app.bootstrap.create_user(&email, None, Some("Zeppelin-Zero-0".into()), None).await.unwrap();
    assert_eq!(reset(&app, &weak, &email, "Zeppelin-One-1").await.0, StatusCode::OK);
    assert_eq!(reset(&app, &weak, &email, "Zeppelin-Two-2").await.0, StatusCode::OK);
    let (status, refused) = reset(&app, &medium, &email, "Zeppelin-One-1").await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("recurrent_password")),
        "the medium policy's last three are still there"
    );
    assert_eq!(reset(&app, &medium, &email, "Zeppelin-Three-3").await.0, StatusCode::OK);
}
