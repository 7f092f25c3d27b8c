//! Account status governs every credential: a user who is disabled, locked or frozen cannot
//! log in, loses its sessions at once, and nobody switches their own account back on.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::TestApp;

async fn login(app: &TestApp, id: &str, secret: &str) -> reqwest::Response {
    let form = [("client_id", id), ("client_secret", secret)];
    app.http.post(app.url("/api/4.0/login")).form(&form).send().await.unwrap()
}

async fn token_of(r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

async fn me(app: &TestApp, token: &str) -> StatusCode {
    app.http.get(app.url("/api/4.0/user")).bearer_auth(token).send().await.unwrap().status()
}

async fn patch_disabled(app: &TestApp, token: &str, id: &str, disabled: bool) -> StatusCode {
    let r = app.http.patch(app.url(&format!("/api/4.0/users/{id}"))).bearer_auth(token);
    r.json(&json!({"is_disabled": disabled})).send().await.unwrap().status()
}

/// Fails on the main of before Hardening I: a disabled user kept its sessions, could log in,
/// and a disabled admin could switch itself back on.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_disabled_user_loses_its_sessions_and_cannot_log_in_or_reenable_itself(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let boss = app.admin_token(true).await;
    let email = format!("{}@example.com", resetd_ports::testkit::unique("victim"));
    let c = app.app.bootstrap.create_api_credentials(&email, true).await.unwrap();
    let (id, secret) = (c.client_id.as_str(), c.client_secret.expose());
    let user_id = c.user_id.to_string();
    let sessions = [token_of(login(&app, id, secret).await).await, token_of(login(&app, id, secret).await).await];
    assert_eq!(patch_disabled(&app, &sessions[0], &user_id, false).await, StatusCode::FORBIDDEN, "not on itself");
    assert_eq!(me(&app, &sessions[0]).await, StatusCode::OK);

    assert_eq!(patch_disabled(&app, &boss, &user_id, true).await, StatusCode::OK);
    for s in &sessions {
        assert_eq!(me(&app, s).await, StatusCode::UNAUTHORIZED, "every session ends at once");
    }
    let refused = login(&app, id, secret).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND, "answered as bad credentials");
    assert_eq!(refused.json::<Value>().await.unwrap()["message"], "Not found");

    assert_eq!(patch_disabled(&app, &boss, &user_id, false).await, StatusCode::OK);
    let back = token_of(login(&app, id, secret).await).await;
    assert_eq!(me(&app, &back).await, StatusCode::OK, "re-enabled, it logs in again");
}

/// Fails on the main of before Hardening I, as above, for the operator's statuses.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn locked_and_frozen_users_cannot_log_in_and_lose_their_sessions(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    for status in ["locked", "frozen", "disabled"] {
        let email = format!("{}@example.com", resetd_ports::testkit::unique(status));
        let c = app.app.bootstrap.create_api_credentials(&email, false).await.unwrap();
        let (id, secret) = (c.client_id.as_str(), c.client_secret.expose());
        let session = token_of(login(&app, id, secret).await).await;
        app.app.bootstrap.set_user_status(&c.user_id.to_string(), status).await.unwrap();
        assert_eq!(me(&app, &session).await, StatusCode::UNAUTHORIZED, "{status}");
        assert_eq!(login(&app, id, secret).await.status(), StatusCode::NOT_FOUND, "{status}");
        app.app.bootstrap.set_user_status(&c.user_id.to_string(), "active").await.unwrap();
        assert_eq!(login(&app, id, secret).await.status(), StatusCode::OK, "{status}, then active");
    }
}
