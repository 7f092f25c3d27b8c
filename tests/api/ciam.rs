//! Tencent CIAM through HTTP, with the code read from the real SMTP sink.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{ciam_post as post, client, code_to, TestApp};

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn an_email_otp_resets_a_password_once(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let web = client(&app, "web").await;
    let email = format!("{}@example.com", resetd_ports::testkit::unique("otp"));
    app.app.bootstrap.create_user(&email, None, Some("Old-Zeppelin-42".into()), None).await.unwrap();

    let (status, sent) = post(&app, "/otp/send", &web, json!({"usage": "reset_password", "email": email})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent.as_object().unwrap().len(), 1, "exactly {{otp_token}}");
    let otp_token = sent["otp_token"].as_str().unwrap().to_owned();
    let code = code_to(&email).await;
    assert_eq!(code.len(), 6);
    // The send's audit event is written by the batch writer, a moment after the answer.
    let mut audited = 0_i64;
    for _ in 0..100 {
        audited = sqlx::query_scalar(
            "SELECT count(*) FROM audit_events a JOIN credentials_email c USING (user_id) \
             WHERE c.email = $1 AND a.kind = 'otp_sent' AND a.detail = 'email'",
        )
        .bind(&email)
        .fetch_one(&pool)
        .await
        .unwrap();
        if audited > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(audited, 1, "the send is in the audit trail, once");

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let body = |password: &str, otp: &str| json!({"password": password, "email": email, "email_otp_token": otp_token, "email_otp": otp});
    assert_eq!(
        post(&app, "/reset_user_password", &web, body("Tr4vel-by-Zeppelin", wrong)).await.1["error"],
        "bad_email_otp"
    );
    assert_eq!(post(&app, "/reset_user_password", &web, body("weak", &code)).await.1["error"], "invalid_new_password");
    assert_eq!(
        post(&app, "/reset_user_password", &web, body("Old-Zeppelin-42", &code)).await.1["error"],
        "recurrent_password"
    );
    let (ok, empty) = post(&app, "/reset_user_password", &web, body("Tr4vel-by-Zeppelin", &code)).await;
    assert_eq!((ok, empty), (StatusCode::OK, Value::Null), "success is 200 with an empty body");
    assert_eq!(
        post(&app, "/reset_user_password", &web, body("Another-Zeppelin-9", &code)).await.1["error"],
        "bad_email_otp_token"
    );
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn client_authentication_and_request_errors_follow_the_contract(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let web = client(&app, "web").await;
    let wrong = crate::helpers::Creds { id: web.id.clone(), secret: Some("x".repeat(43)) };
    let (status, body) =
        post(&app, "/otp/send", &wrong, json!({"usage": "reset_password", "email": "a@example.com"})).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    assert!(body.get("error_description").is_none(), "omitted, not null");
    let cases = [
        (json!({"usage": "reset_password", "email": "not-an-email"}), "malformed_email"),
        (json!({"usage": "reset_password", "phone_number": "123"}), "malformed_phone_number"),
        (json!({"usage": "login", "email": "a@example.com"}), "invalid_request"),
        (json!({"usage": "reset_password"}), "invalid_request"),
        (
            json!({"usage": "reset_password", "email": "a@example.com", "phone_number": "13612345678"}),
            "invalid_request",
        ),
    ];
    for (body, want) in cases {
        let (status, got) = post(&app, "/otp/send", &web, body.clone()).await;
        assert_eq!((status, got["error"].as_str()), (StatusCode::BAD_REQUEST, Some(want)), "{body}");
    }
    let unknown =
        post(&app, "/otp/send", &web, json!({"usage": "reset_password", "email": "nobody.e2e@example.com"})).await;
    assert_eq!(unknown.0, StatusCode::OK, "unknown accounts get the same answer");
    let again =
        post(&app, "/otp/send", &web, json!({"usage": "reset_password", "email": "nobody.e2e@example.com"})).await;
    assert_eq!(again.1["error"], "email_rate_limit_exceeded", "one send per 30 s per destination");

    let raw = app
        .http
        .post(app.url("/reset_user_password"))
        .basic_auth(&web.id, web.secret.as_deref())
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    assert_eq!(raw.headers()["content-type"], "application/json;charset=UTF-8");
    let (status, body) = post(&app, "/reset_user_password", &web, json!({"password": "x"})).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn oversized_and_mistyped_bodies_get_ciam_errors(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let web = client(&app, "web").await;
    let huge = format!("{{\"email\": \"{}\"}}", "x".repeat(100 * 1024));
    let r = app
        .http
        .post(app.url("/otp/send"))
        .basic_auth(&web.id, web.secret.as_deref())
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let r = app
        .http
        .post(app.url("/otp/send"))
        .basic_auth(&web.id, web.secret.as_deref())
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.headers()["content-type"], "application/json;charset=UTF-8");
    // An array is not the object it might spell in order.
    let r = app
        .http
        .post(app.url("/otp/send"))
        .basic_auth(&web.id, web.secret.as_deref())
        .header("content-type", "application/json")
        .body(r#"["reset_password", "ada@example.com"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
}
