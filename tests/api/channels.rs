//! Delivery channels: a channel is served by a real sender or switched off, never by the log
//! outside the dev profile.

use reqwest::StatusCode;
use resetd_server::{Profile, Settings};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{ciam_post as post, client, TestApp};

/// New in Hardening I (the switches did not exist): a switched-off channel answers Tencent's
/// "this tenant cannot send" codes, before any rate limit, for known and unknown accounts.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_switched_off_channel_answers_insufficient_quota_before_any_limit(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| {
        s.mail.enabled = false;
        s.sms.enabled = false;
        // Every limit would refuse: the channel's answer must come first.
        s.otp.per_ip_per_minute = 0;
        s.otp.per_client_per_minute = 0;
    })
    .await;
    let web = client(&app, "web").await;
    let known = format!("{}@example.com", resetd_ports::testkit::unique("known"));
    app.app.bootstrap.create_user(&known, Some("+8613612340001"), None, None).await.unwrap();
    for to in [json!({"email": known}), json!({"email": "nobody@example.com"})] {
        let body = json!({"usage": "reset_password", "email": to["email"]});
        let (status, refused) = post(&app, "/otp/send", &web, body).await;
        assert_eq!((status, refused["error"].as_str()), (StatusCode::BAD_REQUEST, Some("insufficient_email_quota")));
    }
    for phone in ["+8613612340001", "+8613612340002"] {
        let body = json!({"usage": "reset_password", "phone_number": phone});
        let (status, refused) = post(&app, "/otp/send", &web, body).await;
        assert_eq!((status, refused["error"].as_str()), (StatusCode::BAD_REQUEST, Some("insufficient_sms_quota")));
    }

    let token = app.admin_token(true).await;
    let id =
        crate::helpers::create_user(&app, &token, &format!("{}@example.com", resetd_ports::testkit::unique("l"))).await;
    let r = app
        .http
        .post(app.url(&format!("/api/4.0/users/{id}/credentials_email/send_password_reset")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT, "no link is mailed when email is off");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("switched off"), "{body}");
}

fn production() -> Settings {
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let mut s = Settings::load(&config, Profile::Production).unwrap();
    s.database.url = "postgres://postgres@127.0.0.1:1/none".to_owned().into();
    s.redis.url = "redis://127.0.0.1:1".to_owned().into();
    s.security.token_key = resetd_test_support::token_key().into();
    s.mail.smtp_host = "127.0.0.1".into();
    s.sms.webhook_url = "http://127.0.0.1:1/sms".into();
    s.oidc.signing_key = resetd_test_support::signing_key_pem().to_owned().into();
    s
}

/// Fails on the main of before Hardening I: production fell back to the log sender, which
/// writes every code and link at INFO.
#[test]
fn outside_dev_a_channel_without_a_sender_refuses_to_start() {
    assert!(production().check_production().is_ok());
    assert!(resetd_server::notifier(&production()).is_ok());
    let mut no_sms = production();
    no_sms.sms.webhook_url = String::new();
    let reason = format!("{:#}", no_sms.check_production().unwrap_err());
    assert!(reason.contains("RESETD__SMS__ENABLED=false") && !reason.contains('\n'), "{reason}");
    assert!(resetd_server::notifier(&no_sms).is_err(), "no log sender to fall back on");
    no_sms.sms.enabled = false;
    assert!(no_sms.check_production().is_ok(), "switched off explicitly");
    let mut no_mail = production();
    no_mail.mail.smtp_host = String::new();
    let reason = format!("{:#}", no_mail.check_production().unwrap_err());
    assert!(reason.contains("RESETD__MAIL__ENABLED=false"), "{reason}");
    no_mail.mail.enabled = false;
    assert!(no_mail.check_production().is_ok());
}

#[test]
fn production_refuses_to_start_without_a_signing_key_and_reads_one_from_a_file() {
    let mut unsigned = production();
    unsigned.oidc.signing_key = String::new().into();
    let reason = format!("{:#}", unsigned.check_production().unwrap_err());
    assert!(reason.contains("RESETD__OIDC__SIGNING_KEY") && !reason.contains('\n'), "{reason}");
    let dir = resetd_test_support::target_dir().join("tmp");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("signing-key-{}.pem", std::process::id()));
    std::fs::write(&file, resetd_test_support::signing_key_pem()).unwrap();
    unsigned.oidc.signing_key_file = file.display().to_string();
    assert!(unsigned.check_production().is_ok());
    let from_file = unsigned.signer().unwrap();
    let from_text = production().signer().unwrap();
    assert_eq!(from_file.current().kid(), from_text.current().kid(), "the same key either way");
    let mut both = production();
    both.oidc.signing_key_file = file.display().to_string();
    assert!(both.signer().is_err(), "not both");
    std::fs::write(&file, "not a key").unwrap();
    assert!(unsigned.signer().is_err(), "an unreadable key refuses to start");
    std::fs::remove_file(&file).unwrap();
}

/// Fails on the main of before Hardening II: while SMTP was down a known address got 503 and
/// an unknown one 200. The failing mark is shared in Redis, so two processes agree.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn while_delivery_fails_unknown_addresses_answer_like_known_ones_across_processes(pool: PgPool) {
    let mut sink = resetd_test_support::SmtpSink::start();
    let (prefix, port) = (resetd_ports::testkit::unique("shared:") + ":", sink.port());
    let shared = |s: &mut Settings| {
        s.redis.key_prefix.clone_from(&prefix);
        s.mail.smtp_port = port;
    };
    let (a, b) = (TestApp::spawn_with(&pool, shared).await, TestApp::spawn_with(&pool, shared).await);
    let web = client(&a, "web").await;
    let known = |tag: &str| format!("{}@example.com", resetd_ports::testkit::unique(tag));
    let (first, second) = (known("known"), known("known"));
    for email in [&first, &second] {
        a.app.bootstrap.create_user(email, None, None, None).await.unwrap();
    }
    async fn send(app: &TestApp, web: &crate::helpers::Creds, email: String) -> (StatusCode, serde_json::Value) {
        post(app, "/otp/send", web, json!({"usage": "reset_password", "email": email})).await
    }

    sink.stop();
    let (status, failed) = send(&a, &web, first.clone()).await;
    assert_eq!((status, failed["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("temporarily_unavailable")));
    let (status, unknown) = send(&b, &web, known("nobody")).await;
    assert_eq!(
        (status, unknown["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("temporarily_unavailable")),
        "the other process answers an unknown address the same way"
    );

    sink.restart();
    assert_eq!(send(&a, &web, second).await.0, StatusCode::OK, "a good delivery clears the mark");
    assert_eq!(send(&b, &web, known("nobody")).await.0, StatusCode::OK, "and every process sees it");
}
