//! The dev profile's embedded stores (no PostgreSQL, no Redis) serve both APIs the same way.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{ciam_post, client, code_to, create_user, redeem, reset_url, TestApp};

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
    let id = create_user(&app, &token, "mem.e2e@example.com").await;
    let link = reset_url(&app, &token, &id, "?expires=true").await["password_reset_url"].as_str().unwrap().to_owned();
    assert_eq!(redeem(&app, &link, "Tr4vel-by-Zeppelin").await.status(), StatusCode::OK);
    assert_eq!(redeem(&app, &link, "Tr4vel-by-Zeppelin").await.status(), StatusCode::NOT_FOUND);

    // CIAM: client, OTP by email, reset.
    let web = client(&app, "web").await;
    app.app.bootstrap.create_user("mem2.e2e@example.com", None, Some("Old-Zeppelin-42".into()), None).await.unwrap();
    let (_, sent) =
        ciam_post(&app, "/otp/send", &web, json!({"usage": "reset_password", "email": "mem2.e2e@example.com"})).await;
    let code = code_to("mem2.e2e@example.com").await;
    let body = json!({"password": "Tr4vel-by-Zeppelin", "email": "mem2.e2e@example.com", "email_otp_token": sent["otp_token"], "email_otp": code});
    assert_eq!(ciam_post(&app, "/reset_user_password", &web, body.clone()).await.0, StatusCode::OK);
    assert_eq!(ciam_post(&app, "/reset_user_password", &web, body).await.1["error"], "bad_email_otp_token");
}
