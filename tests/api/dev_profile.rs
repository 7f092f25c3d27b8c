//! The dev profile's embedded stores (no PostgreSQL, no Redis) serve both APIs the same way.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{digits_after, mail_to, TestApp};

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn both_apis_work_on_the_in_memory_stores(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| {
        s.database.url = String::new().into();
        s.redis.url = String::new().into();
    })
    .await;
    let ready: Value = app.http.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["checks"], json!({}), "no backend to probe in memory");

    // Looker: admin, user, link, redemption.
    let token = app.admin_token(true).await;
    let user: Value = app
        .http
        .post(app.url("/api/4.0/users"))
        .bearer_auth(&token)
        .json(&json!({"credentials_email": {"email": "mem.e2e@example.com"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = user["id"].as_str().unwrap();
    let cred: Value = app
        .http
        .post(app.url(&format!("/api/4.0/users/{id}/credentials_email/password_reset?expires=true")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = cred["password_reset_url"].as_str().unwrap();
    let redeem = |password: &'static str| {
        let token = link.rsplit('/').next().unwrap().to_owned();
        let app = &app;
        async move {
            app.http
                .post(app.url("/password/reset"))
                .json(&json!({"token": token, "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(redeem("Tr4vel-by-Zeppelin").await, StatusCode::OK);
    assert_eq!(redeem("Tr4vel-by-Zeppelin").await, StatusCode::NOT_FOUND);

    // CIAM: client, OTP by email, reset.
    let c = app.app.bootstrap.create_client("web", "mem", resetd_app::bootstrap::ClientPolicy::Default).await.unwrap();
    let (cid, secret) = (c.client_id.as_str().to_owned(), c.client_secret.unwrap().expose().to_owned());
    app.app.bootstrap.create_user("mem2.e2e@example.com", None, Some("Old-Zeppelin-42".into()), None).await.unwrap();
    let sent: Value = app
        .http
        .post(app.url("/otp/send"))
        .basic_auth(&cid, Some(&secret))
        .json(&json!({"usage": "reset_password", "email": "mem2.e2e@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = digits_after(&mail_to("mem2.e2e@example.com").await, "code is", 6);
    let body = json!({"password": "Tr4vel-by-Zeppelin", "email": "mem2.e2e@example.com", "email_otp_token": sent["otp_token"], "email_otp": code});
    let r = app
        .http
        .post(app.url("/reset_user_password"))
        .basic_auth(&cid, Some(&secret))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let again = app
        .http
        .post(app.url("/reset_user_password"))
        .basic_auth(&cid, Some(&secret))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.json::<Value>().await.unwrap()["error"], "bad_email_otp_token");
}
