//! A request that runs past `server.request_timeout_secs` is answered in its API's dialect:
//! here the deliveries go to a mail server that accepts connections and never speaks.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{ciam_post, client, TestApp};

/// A TCP server that accepts connections, holds them, and never answers.
async fn silent_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_request_past_the_deadline_is_answered_in_its_dialect(pool: PgPool) {
    let port = silent_server().await;
    let app = TestApp::spawn_with(&pool, |s| {
        s.server.request_timeout_secs = 1;
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = port;
    })
    .await;
    let email = format!("{}@example.com", resetd_ports::testkit::unique("slow"));
    let user_id = app.app.bootstrap.create_user(&email, None, Some("Old-Zeppelin-42".into()), None).await.unwrap();

    let web = client(&app, "web").await;
    let (status, body) = ciam_post(&app, "/otp/send", &web, json!({"usage": "reset_password", "email": email})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        json!({"error": "temporarily_unavailable",
               "error_description": "The request took too long. Please try again later."})
    );

    let token = app.admin_token(true).await;
    let r = app
        .http
        .post(app.url(&format!("/api/4.0/users/{user_id}/credentials_email/send_password_reset")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "The request took too long. Please try again later.");
    assert!(body["documentation_url"].as_str().unwrap().ends_with("/errors/503"), "{body}");
}
