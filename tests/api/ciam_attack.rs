//! CIAM under attack and at the edges: both channels, every client type, concurrency, brute
//! force, documented errors that need special set-ups, and timing.

use reqwest::StatusCode;
use resetd_app::bootstrap::ClientSwitches;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{ciam_post as post, client, code_to, Creds, SmsGateway, TestApp};

fn unique_email(tag: &str) -> String {
    format!("{}@example.com", resetd_ports::testkit::unique(tag))
}

async fn user(app: &TestApp, email: &str, phone: Option<&str>) {
    app.app.bootstrap.create_user(email, phone, Some("Old-Zeppelin-42".into()), None).await.unwrap();
}

async fn send_email_otp(app: &TestApp, c: &Creds, email: &str) -> (String, String) {
    let (status, sent) = post(app, "/otp/send", c, json!({"usage": "reset_password", "email": email})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let code = code_to(email).await;
    (sent["otp_token"].as_str().unwrap().to_owned(), code)
}

fn reset_body(email: &str, token: &str, code: &str, password: &str) -> Value {
    json!({"password": password, "email": email, "email_otp_token": token, "email_otp": code})
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_phone_otp_travels_by_the_sms_webhook_and_resets(pool: PgPool) {
    let gateway = SmsGateway::start().await;
    let url = gateway.url.clone();
    let app = TestApp::spawn_with(&pool, |s| s.sms.webhook_url = url).await;
    let web = client(&app, "web").await;
    let spa = client(&app, "spa").await;
    assert!(spa.secret.is_none(), "public clients have no secret");
    user(&app, &unique_email("phone"), Some("13612345678")).await;

    let (status, sent) =
        post(&app, "/otp/send", &web, json!({"usage": "reset_password", "phone_number": "13612345678"})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let token = sent["otp_token"].as_str().unwrap();
    let code = gateway.code_for("+8613612345678");
    let body = |c: &str| json!({"password": "Tr4vel-by-Zeppelin", "phone_number": "13612345678", "phone_number_otp_token": token, "phone_number_otp": c});
    // Issued to the web client: another client may not redeem it.
    assert_eq!(post(&app, "/reset_user_password", &spa, body(&code)).await.1["error"], "bad_phone_number_otp_token");
    assert_eq!(post(&app, "/reset_user_password", &web, body(wrong(&code))).await.1["error"], "bad_phone_number_otp");
    assert_eq!(post(&app, "/reset_user_password", &web, body(&code)).await.0, StatusCode::OK);
    assert_eq!(post(&app, "/reset_user_password", &web, body(&code)).await.1["error"], "bad_phone_number_otp_token");
    let r = app
        .http
        .post(app.url("/otp/send"))
        .basic_auth(&web.id, web.secret.as_deref())
        .json(&json!({"usage": "reset_password", "phone_number": "+8613612345678"}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "sms_rate_limit_exceeded", "error_description": "SMS rate limit exceeded for same phone number"}),
        "one SMS per number per 30 s, whatever its spelling"
    );
    // The notice is owed by the change's outbox row, delivered within a poll interval.
    let mut notices = 0;
    for _ in 0..100 {
        notices = gateway.received.lock().unwrap().len();
        if notices >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(notices, 2, "the code, then the password-changed notice on the same channel");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn client_types_authenticate_as_documented(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let email = unique_email("types");
    user(&app, &email, None).await;
    let web = client(&app, "web").await;
    for kind in ["spa", "mobile"] {
        let public = client(&app, kind).await;
        let opt_in = ClientSwitches { public_otp_send: Some(true), ..Default::default() };
        app.app.bootstrap.set_client_switches(&public.id, opt_in).await.unwrap();
        let (token, code) = {
            let (status, sent) =
                post(&app, "/otp/send", &public, json!({"usage": "reset_password", "email": unique_email(kind)})).await;
            assert_eq!(status, StatusCode::OK, "{kind}, opted in, may send with its id alone: {sent}");
            (sent["otp_token"].as_str().unwrap().to_owned(), "123456")
        };
        let with_junk_secret = Creds { id: public.id.clone(), secret: Some("ignored".into()) };
        let (status, body) =
            post(&app, "/reset_user_password", &with_junk_secret, reset_body(&email, &token, code, "x")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_email_otp_token")),
            "{kind}: a secret is ignored"
        );
    }
    let m2m = client(&app, "m2m").await;
    assert_eq!(
        post(&app, "/reset_user_password", &m2m, reset_body(&email, "t", "1", "x")).await.1["error"],
        "unauthorized_client"
    );
    let no_secret = Creds { id: web.id.clone(), secret: None };
    assert_eq!(
        post(&app, "/otp/send", &no_secret, json!({"usage": "reset_password", "email": email})).await.0,
        StatusCode::UNAUTHORIZED
    );
    let body_creds =
        json!({"usage": "reset_password", "email": email, "client_id": web.id, "client_secret": web.secret});
    let r = app.http.post(app.url("/otp/send")).json(&body_creds).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "credentials in the body work too");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_hundred_concurrent_resets_with_one_otp_succeed_once(pool: PgPool) {
    // One address sends them all: its limit of password changes is raised out of the way.
    let app = TestApp::spawn_with(&pool, |s| s.limits.password_changes_per_ip_per_minute = 1000).await;
    let web = client(&app, "web").await;
    let email = unique_email("race");
    user(&app, &email, None).await;
    let (token, code) = send_email_otp(&app, &web, &email).await;
    let tries = (0..100).map(|i| {
        let (app, web, body) = (&app, &web, reset_body(&email, &token, &code, &format!("Tr4vel-by-Zeppelin-{i}")));
        async move { post(app, "/reset_user_password", web, body).await }
    });
    let answers = futures::future::join_all(tries).await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == StatusCode::OK).count(), 1);
    assert!(answers.iter().all(|(s, b)| *s == StatusCode::OK || b["error"] == "bad_email_otp_token"), "{answers:?}");
    let history: i64 = sqlx::query_scalar(
        "select count(*) from password_history h join credentials_email c using (user_id) where c.email = $1",
    )
    .bind(&email)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(history, 2, "the initial password and exactly one reset");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn brute_force_stops_at_the_cap_and_at_the_account_budget(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| {
        s.otp.destination_cooldown_secs = 0;
        s.otp.account_guesses_per_day = 8;
    })
    .await;
    let web = client(&app, "web").await;
    let email = unique_email("brute");
    user(&app, &email, None).await;

    let (token, code) = send_email_otp(&app, &web, &email).await;
    for _ in 0..5 {
        assert_eq!(
            post(&app, "/reset_user_password", &web, reset_body(&email, &token, wrong(&code), "Tr4vel-by-Zeppelin"))
                .await
                .1["error"],
            "bad_email_otp"
        );
    }
    let after_cap =
        post(&app, "/reset_user_password", &web, reset_body(&email, &token, &code, "Tr4vel-by-Zeppelin")).await;
    assert_eq!(after_cap.1["error"], "bad_email_otp_token", "five wrong guesses kill the code");

    let (token, code) = send_email_otp(&app, &web, &email).await;
    for _ in 0..3 {
        assert_eq!(
            post(&app, "/reset_user_password", &web, reset_body(&email, &token, wrong(&code), "Tr4vel-by-Zeppelin"))
                .await
                .1["error"],
            "bad_email_otp"
        );
    }
    let over_budget =
        post(&app, "/reset_user_password", &web, reset_body(&email, &token, &code, "Tr4vel-by-Zeppelin")).await;
    assert_eq!(
        over_budget.1["error"], "bad_email_otp",
        "eight wrong guesses across codes exhaust the account's budget"
    );
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn user_not_found_and_abnormal_status_come_after_the_otp(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| s.otp.destination_cooldown_secs = 1).await;
    let web = client(&app, "web").await;
    let gone = unique_email("gone");
    user(&app, &gone, None).await;
    let (token, code) = send_email_otp(&app, &web, &gone).await;
    sqlx::query("delete from users where id = (select user_id from credentials_email where email = $1)")
        .bind(&gone)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        post(&app, "/reset_user_password", &web, reset_body(&gone, &token, &code, "Tr4vel-by-Zeppelin")).await.1
            ["error"],
        "user_not_found"
    );

    for (status, text) in
        [("frozen", "User is frozen."), ("locked", "User is locked."), ("disabled", "User is disabled.")]
    {
        let email = unique_email(status);
        user(&app, &email, None).await;
        let id: i64 = sqlx::query_scalar("select user_id from credentials_email where email = $1")
            .bind(&email)
            .fetch_one(&pool)
            .await
            .unwrap();
        // A code sent before the status changed died with the change.
        let (before, before_code) = send_email_otp(&app, &web, &email).await;
        app.app.bootstrap.set_user_status(&id.to_string(), status).await.unwrap();
        let body = reset_body(&email, &before, &before_code, "Tr4vel-by-Zeppelin");
        assert_eq!(post(&app, "/reset_user_password", &web, body).await.1["error"], "bad_email_otp_token", "{status}");
        // A code sent to the account in this status is answered with the status, after the code.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (token, code) = send_email_otp(&app, &web, &email).await;
        let (code_status, body) =
            post(&app, "/reset_user_password", &web, reset_body(&email, &token, &code, "Tr4vel-by-Zeppelin")).await;
        assert_eq!(
            (code_status, body["error"].as_str(), body["error_description"].as_str()),
            (StatusCode::BAD_REQUEST, Some("abnormal_user_status"), Some(text))
        );
    }
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_failed_delivery_is_temporarily_unavailable(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| s.mail.smtp_port = 1).await;
    let web = client(&app, "web").await;
    let email = unique_email("down");
    user(&app, &email, None).await;
    let (status, body) = post(&app, "/otp/send", &web, json!({"usage": "reset_password", "email": email})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        json!({"error": "temporarily_unavailable", "error_description": "Failed to send OTP. Please try again later."})
    );
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_switched_off_flow_is_misconfigured_and_a_disabled_client_invalid(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let web = client(&app, "web").await;
    let email = unique_email("switch");
    app.app
        .bootstrap
        .set_client_switches(&web.id, ClientSwitches { reset_enabled: Some(false), ..Default::default() })
        .await
        .unwrap();
    let (status, body) = post(&app, "/reset_user_password", &web, reset_body(&email, "t", "1", "x")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("misconfigured")));
    assert_eq!(body["error_description"], "Reset password flow of the application is not enabled.");
    // Hardening II: no code is sent for a flow that is off (before, /otp/send answered 200).
    let (status, body) = post(&app, "/otp/send", &web, json!({"usage": "reset_password", "email": email})).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("misconfigured")));
    app.app
        .bootstrap
        .set_client_switches(&web.id, ClientSwitches { enabled: Some(false), ..Default::default() })
        .await
        .unwrap();
    let (status, body) = post(&app, "/reset_user_password", &web, reset_body(&email, "t", "1", "x")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn per_ip_and_per_client_limits_answer_429_with_retry_after(pool: PgPool) {
    for (ip, per_client) in [(1, 1000), (1000, 1)] {
        let app = TestApp::spawn_with(&pool, |s| {
            s.otp.per_ip_per_minute = ip;
            s.otp.per_client_per_minute = per_client;
        })
        .await;
        let web = client(&app, "web").await;
        let first = post(&app, "/otp/send", &web, json!({"usage": "reset_password", "email": unique_email("a")})).await;
        assert_eq!(first.0, StatusCode::OK);
        let r = app
            .http
            .post(app.url("/otp/send"))
            .basic_auth(&web.id, web.secret.as_deref())
            .json(&json!({"usage": "reset_password", "email": unique_email("b")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "ip {ip}, client {per_client}");
        assert!(r.headers().contains_key("retry-after"));
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "rate_limit_exceeded");
    }
}
