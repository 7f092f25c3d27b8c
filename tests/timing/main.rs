//! The timing of `/otp/send` and of the password grant for known and unknown accounts, in
//! their own test binary so that no other test loads the CPU while they measure, and one at a
//! time ([`SERIAL`]).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use resetd_e2e::helpers::TestApp;

/// The tests of this binary measure one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn median(v: &mut [Duration]) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64()
}

async fn post(app: &TestApp, path: &str, id: &str, secret: &str, body: Value) -> StatusCode {
    app.http.post(app.url(path)).basic_auth(id, Some(secret)).json(&body).send().await.unwrap().status()
}

fn unique_email(tag: &str) -> String {
    format!("{}@example.com", resetd_ports::testkit::unique(tag))
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn known_and_unknown_accounts_take_the_same_time(pool: PgPool) {
    let _alone = SERIAL.lock().await;
    let app = TestApp::spawn(&pool).await;
    let c =
        app.app.bootstrap.create_client("web", "timing", resetd_app::bootstrap::ClientPolicy::Default).await.unwrap();
    let (id, secret) = (c.client_id.as_str().to_owned(), c.client_secret.unwrap().expose().to_owned());
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..30 {
        let email = unique_email(&format!("known{i}"));
        app.app.bootstrap.create_user(&email, None, Some("Old-Zeppelin-42".into()), None).await.unwrap();
        for (target, list) in [(email, &mut known), (unique_email(&format!("ghost{i}")), &mut unknown)] {
            let started = Instant::now();
            let status =
                post(&app, "/otp/send", &id, &secret, json!({"usage": "reset_password", "email": target})).await;
            list.push(started.elapsed());
            assert_eq!(status, StatusCode::OK);
        }
    }
    let (k, u) = (median(&mut known), median(&mut unknown));
    let ratio = k.max(u) / k.min(u);
    assert!(ratio <= 1.2, "median known {k:.4}s vs unknown {u:.4}s differ by more than 20%");
}

/// A wrong password and an unknown username do the same argon2 work (a dummy hash for the
/// unknown one) and answer alike: their medians, over interleaved samples, are within 20 %.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_wrong_password_and_an_unknown_user_take_the_same_time(pool: PgPool) {
    let _alone = SERIAL.lock().await;
    let app = TestApp::spawn_with(&pool, |s| s.limits.token_per_ip_per_minute = 10_000).await;
    let c =
        app.app.bootstrap.create_client("spa", "timing", resetd_app::bootstrap::ClientPolicy::Default).await.unwrap();
    let client = c.client_id.as_str().to_owned();
    let login = |username: String| {
        let (app, client) = (&app, &client);
        async move {
            let form = [("grant_type", "password"), ("username", &username), ("password", "Wrong-Zeppelin-1")];
            let started = Instant::now();
            let r = app.http.post(app.url("/oauth2/token")).basic_auth(client, None::<&str>).form(&form).send().await;
            let elapsed = started.elapsed();
            let body: Value = r.unwrap().json().await.unwrap();
            assert_eq!(body["error_description"], "Wrong username or password");
            elapsed
        }
    };
    // The first unknown username makes the dummy hash: not a sample.
    login(unique_email("warm")).await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..30 {
        // A fresh account each time: the samples do not depend on the lockout's count.
        let email = unique_email(&format!("known{i}"));
        app.app.bootstrap.create_user(&email, None, Some("Old-Zeppelin-42".into()), None).await.unwrap();
        known.push(login(email).await);
        unknown.push(login(unique_email(&format!("ghost{i}"))).await);
    }
    let (k, u) = (median(&mut known), median(&mut unknown));
    let ratio = k.max(u) / k.min(u);
    assert!(ratio <= 1.2, "median wrong password {k:.4}s vs unknown user {u:.4}s differ by more than 20%");
}
