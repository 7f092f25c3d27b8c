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

/// The "first hour": the dev profile alone bootstraps a way in, keeps what it sends at
/// /dev/outbox, and both are enough to mint a link, redeem it and reset with a code.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn the_dev_profile_alone_lets_a_newcomer_in(pool: PgPool) {
    let dir = resetd_test_support::target_dir().join("dev-bootstrap").join(resetd_ports::testkit::unique("t"));
    let file = dir.join("bootstrap.json");
    let path = file.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(&pool, |s| {
        s.database.url = String::new().into();
        s.redis.url = String::new().into();
        s.dev.bootstrap_file = path;
    })
    .await;
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "only its owner reads it");
    let made: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    for pointer in [
        "/looker/client_id",
        "/looker/client_secret",
        "/looker/user_id",
        "/ciam/web/client_id",
        "/ciam/web/client_secret",
        "/ciam/spa/client_id",
        "/user/user_id",
        "/user/email",
        "/user/phone_number",
        "/user/password",
    ] {
        assert!(made.pointer(pointer).and_then(Value::as_str).is_some_and(|v| !v.is_empty()), "{pointer} in {made}");
    }

    // The demo user logs in with the bootstrap password (in-memory sessions and lockout, and
    // a signing key generated at start).
    let spa = made["ciam"]["spa"]["client_id"].as_str().unwrap();
    let phone = made["user"]["phone_number"].as_str().unwrap();
    let grant = |password: &str| {
        let form = [("grant_type", "password"), ("username", phone), ("password", password)];
        app.http.post(app.url("/oauth2/token")).basic_auth(spa, None::<&str>).form(&form).send()
    };
    let first = grant(made["user"]["password"].as_str().unwrap()).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK, "{:?}", first.text().await);

    // Looker with the bootstrap credential: a link for the demo user, read at /dev/outbox.json.
    let form = [
        ("client_id", made["looker"]["client_id"].as_str().unwrap()),
        ("client_secret", made["looker"]["client_secret"].as_str().unwrap()),
    ];
    let login: Value = app.http.post(app.url("/api/4.0/login")).form(&form).send().await.unwrap().json().await.unwrap();
    let token = login["access_token"].as_str().unwrap();
    let user = made["user"]["user_id"].as_str().unwrap();
    let sent = app
        .http
        .post(app.url(&format!("/api/4.0/users/{user}/credentials_email/send_password_reset")))
        .bearer_auth(token);
    assert_eq!(sent.send().await.unwrap().status(), StatusCode::OK);
    let mail = newest(&app, "demo@example.com", "/password/reset/").await;
    let link = mail.split_whitespace().find(|w| w.contains("/password/reset/")).unwrap().to_owned();
    assert_eq!(redeem(&app, &link, "Tr4vel-by-Zeppelin").await.status(), StatusCode::OK);
    let page = app.http.get(app.url("/dev/outbox")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains(&format!("<a href=\"{link}\">")), "links are clickable");

    // CIAM from the browser's client (the SPA, opted in to /otp/send): a code by SMS.
    let ciam = |path: &str, body: Value| app.http.post(app.url(path)).basic_auth(spa, None::<&str>).json(&body).send();
    let sent: Value = ciam("/otp/send", json!({"usage": "reset_password", "phone_number": phone}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sms = newest(&app, phone, "").await;
    let code: String = sms.chars().filter(char::is_ascii_digit).collect::<String>().chars().take(6).collect();
    let body = json!({"password": "New-Zeppelin-77", "phone_number": phone,
                      "phone_number_otp_token": sent["otp_token"], "phone_number_otp": code});
    let r = ciam("/reset_user_password", body).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    // And logs in with the new password.
    let again = grant("New-Zeppelin-77").await.unwrap();
    assert_eq!(again.status(), StatusCode::OK, "{:?}", again.text().await);
}

/// The newest message to `to` at `/dev/outbox.json` that contains `needle` (polling: notices
/// go out through the outbox).
async fn newest(app: &TestApp, to: &str, needle: &str) -> String {
    for _ in 0..100 {
        let all: Vec<Value> = app.http.get(app.url("/dev/outbox.json")).send().await.unwrap().json().await.unwrap();
        let found = all.iter().find(|m| m["to"] == to && m["text"].as_str().is_some_and(|t| t.contains(needle)));
        if let Some(m) = found {
            assert!(["email", "sms"].contains(&m["channel"].as_str().unwrap()) && m["sent_at"].is_string(), "{m}");
            return m["text"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no message to {to} at /dev/outbox.json");
}
