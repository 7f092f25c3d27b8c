//! No limit can be spent against someone else: a refused request counts nowhere, public
//! clients cannot trigger sends unless an operator opts them in, and failed Looker logins
//! count per client and source address.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{ciam_post as post, client, TestApp};

fn unique_email(tag: &str) -> String {
    format!("{}@example.com", resetd_ports::testkit::unique(tag))
}

/// Fails on the main of before Hardening I: every refused send also counted on the daily cap,
/// so a burst against the cooldown filled a victim's cap for a day.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn refused_sends_do_not_spend_the_daily_cap(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| {
        s.otp.destination_cooldown_secs = 1;
        s.otp.destination_daily_limit = 3;
    })
    .await;
    let web = client(&app, "web").await;
    let victim = unique_email("victim");
    let body = json!({"usage": "reset_password", "email": victim});
    assert_eq!(post(&app, "/otp/send", &web, body.clone()).await.0, StatusCode::OK);
    for _ in 0..20 {
        let (status, refused) = post(&app, "/otp/send", &web, body.clone()).await;
        assert_eq!((status, refused["error"].as_str()), (StatusCode::BAD_REQUEST, Some("email_rate_limit_exceeded")));
    }
    for n in 2..=3 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (status, sent) = post(&app, "/otp/send", &web, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "send {n} of the daily 3 after 20 refused ones: {sent}");
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, capped) = post(&app, "/otp/send", &web, body).await;
    assert_eq!(
        (status, capped["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("email_rate_limit_exceeded")),
        "the daily cap itself still holds"
    );
}

/// Fails on the main of before Hardening I: public clients could trigger sends.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn public_clients_send_only_when_an_operator_opted_them_in(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    for kind in ["spa", "mobile"] {
        let public = client(&app, kind).await;
        let body = json!({"usage": "reset_password", "email": unique_email(kind)});
        let (status, refused) = post(&app, "/otp/send", &public, body.clone()).await;
        assert_eq!((status, refused["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
        app.app
            .bootstrap
            .set_client_switches(
                &public.id,
                resetd_app::bootstrap::ClientSwitches { public_otp_send: Some(true), ..Default::default() },
            )
            .await
            .unwrap();
        let (status, sent) = post(&app, "/otp/send", &public, body).await;
        assert_eq!(status, StatusCode::OK, "{kind} opted in: {sent}");
    }
    for kind in ["web", "m2m"] {
        let confidential = client(&app, kind).await;
        let body = json!({"usage": "reset_password", "email": unique_email(kind)});
        assert_eq!(post(&app, "/otp/send", &confidential, body).await.0, StatusCode::OK, "{kind}");
    }
}

async fn login_from(app: &TestApp, from: IpAddr, id: &str, secret: &str) -> StatusCode {
    let http = reqwest::Client::builder().local_address(from).build().unwrap();
    let r = http.post(app.url("/api/4.0/login")).form(&[("client_id", id), ("client_secret", secret)]).send();
    r.await.unwrap().status()
}

/// Fails on the main of before Hardening I: the per-client login limit counted every attempt,
/// so anyone who knew an API client id locked its integration out.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn failed_logins_count_per_client_and_address(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| s.limits.login_failures_per_client_ip_per_minute = 3).await;
    let c = app.app.bootstrap.create_api_credentials(&unique_email("integration"), true).await.unwrap();
    let (id, secret) = (c.client_id.as_str(), c.client_secret.expose());
    let attacker = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let integration = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    let mut answers = Vec::new();
    for _ in 0..10 {
        answers.push(login_from(&app, attacker, id, "wrong-secret").await);
    }
    assert_eq!(answers[..3], [StatusCode::NOT_FOUND; 3], "{answers:?}");
    assert!(answers[3..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{answers:?}");
    assert_eq!(login_from(&app, integration, id, secret).await, StatusCode::OK, "the right secret elsewhere works");
    assert_eq!(
        login_from(&app, attacker, id, secret).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the address that failed waits out its window, whatever it sends"
    );
    let r = app.http.post(app.url("/api/4.0/login")).form(&[("client_id", id), ("client_secret", secret)]);
    let body: Value = r.send().await.unwrap().json().await.unwrap();
    assert!(body["access_token"].is_string(), "{body}");
}

/// Fails on the main of before Hardening II: rate-limit and budget keys held raw addresses.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn no_key_in_redis_holds_an_address(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let web = client(&app, "web").await;
    let local = resetd_ports::testkit::unique("pii");
    let email = format!("{local}@example.com");
    app.app.bootstrap.create_user(&email, Some("+8613612300077"), Some("Old-Zeppelin-42".into()), None).await.unwrap();
    for body in [
        json!({"usage": "reset_password", "email": email}),
        json!({"usage": "reset_password", "phone_number": "+8613612300077"}),
    ] {
        let (status, sent) = post(&app, "/otp/send", &web, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{sent}");
        let mut wrong = body;
        let key = if wrong.get("email").is_some() { "email" } else { "phone_number" };
        wrong[format!("{key}_otp_token")] = sent["otp_token"].clone();
        wrong[format!("{key}_otp")] = json!("000000");
        wrong["password"] = json!("New-Zeppelin-77");
        wrong.as_object_mut().unwrap().remove("usage");
        post(&app, "/reset_user_password", &web, wrong).await; // a guess: the budget's key exists too
    }
    let mut redis = redis::Client::open(resetd_test_support::shared_redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for needle in [local.as_str(), "13612300077"] {
        let keys: Vec<String> = redis::cmd("KEYS").arg(format!("*{needle}*")).query_async(&mut redis).await.unwrap();
        assert!(keys.is_empty(), "keys naming {needle}: {keys:?}");
    }
}

fn reset_body(email: &str, token: &str, code: &str, password: &str) -> serde_json::Value {
    json!({"password": password, "email": email, "email_otp_token": token, "email_otp": code})
}

/// Fails on the main of before Hardening II: a successful reset left the account's spent
/// guesses in place, so its owner started the next day's resets already short.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_successful_reset_clears_the_accounts_guess_budget(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| {
        s.otp.destination_cooldown_secs = 0;
        s.otp.account_guesses_per_day = 3;
    })
    .await;
    let web = client(&app, "web").await;
    let email = unique_email("budget");
    app.app.bootstrap.create_user(&email, None, Some("Old-Zeppelin-42".into()), None).await.unwrap();
    for (round, password) in ["First-Zeppelin-1", "Second-Zeppelin-2"].into_iter().enumerate() {
        let (status, sent) = post(&app, "/otp/send", &web, json!({"usage": "reset_password", "email": email})).await;
        assert_eq!(status, StatusCode::OK, "{sent}");
        let token = sent["otp_token"].as_str().unwrap();
        let code = crate::helpers::code_to(&email).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..2 {
            let (_, refused) =
                post(&app, "/reset_user_password", &web, reset_body(&email, token, wrong, password)).await;
            assert_eq!(refused["error"], "bad_email_otp", "round {round}");
        }
        let (status, body) = post(&app, "/reset_user_password", &web, reset_body(&email, token, &code, password)).await;
        assert_eq!(status, StatusCode::OK, "round {round}: two of three spent, the right code is the third: {body}");
    }
}

/// New in Hardening II: password changes are limited per address before any argon2 work.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn password_changes_are_limited_per_address_before_any_hashing(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| s.limits.password_changes_per_ip_per_minute = 2).await;
    let link = json!({"token": "not-a-token", "password": "Tr4vel-by-Zeppelin"});
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.http.post(app.url("/password/reset")).json(&link).send().await.unwrap().status());
    }
    assert_eq!(statuses, [StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, StatusCode::TOO_MANY_REQUESTS]);
    let web = client(&app, "web").await;
    let body = reset_body("someone@example.com", "t", "123456", "Tr4vel-by-Zeppelin");
    let (status, refused) = post(&app, "/reset_user_password", &web, body).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limit_exceeded")),
        "one budget per address for both ways"
    );
}
