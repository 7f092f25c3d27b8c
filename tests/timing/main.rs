//! The timing of `/otp/send` for known and unknown accounts, in its own test binary so that no
//! other test loads the CPU while it measures.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use resetd_e2e::helpers::TestApp;

async fn post(app: &TestApp, path: &str, id: &str, secret: &str, body: Value) -> StatusCode {
    app.http.post(app.url(path)).basic_auth(id, Some(secret)).json(&body).send().await.unwrap().status()
}

fn unique_email(tag: &str) -> String {
    format!("{}@example.com", resetd_ports::testkit::unique(tag))
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn known_and_unknown_accounts_take_the_same_time(pool: PgPool) {
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
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    let ratio = k.max(u) / k.min(u);
    assert!(ratio <= 1.2, "median known {k:.4}s vs unknown {u:.4}s differ by more than 20%");
}
