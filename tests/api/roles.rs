//! The `user` role administers nothing, itself included: it reads itself and that is all.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::TestApp;

/// Fails on the main of before Hardening II: a non-admin could mint its own reset links,
/// change or delete its email credential and clear its forced-reset flag.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_plain_api_user_reads_itself_and_changes_nothing(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let email = format!("{}@example.com", resetd_ports::testkit::unique("plain"));
    let c = app.app.bootstrap.create_api_credentials(&email, false).await.unwrap();
    let id = c.user_id.to_string();
    let form = [("client_id", c.client_id.as_str()), ("client_secret", c.client_secret.expose())];
    let r = app.http.post(app.url("/api/4.0/login")).form(&form).send().await.unwrap();
    let token = r.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let call = |method: reqwest::Method, path: String| app.http.request(method, app.url(&path)).bearer_auth(&token);
    use reqwest::Method;
    for path in
        ["/api/4.0/user".to_owned(), format!("/api/4.0/users/{id}"), format!("/api/4.0/users/{id}/credentials_email")]
    {
        assert_eq!(call(Method::GET, path.clone()).send().await.unwrap().status(), StatusCode::OK, "{path}");
    }
    let cred = format!("/api/4.0/users/{id}/credentials_email");
    let refused = [
        (Method::PATCH, format!("/api/4.0/users/{id}"), json!({"first_name": "Eve"})),
        (Method::POST, format!("{cred}/password_reset?expires=true"), json!({})),
        (Method::POST, format!("{cred}/send_password_reset"), json!({})),
        (Method::PATCH, cred.clone(), json!({"email": "moved@example.com"})),
        (Method::PATCH, cred.clone(), json!({"forced_password_reset_at_next_login": false})),
        (Method::DELETE, cred.clone(), json!({})),
        (Method::POST, cred.clone(), json!({"email": "second@example.com"})),
    ];
    for (method, path, body) in refused {
        let r = call(method.clone(), path.clone()).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    let after: serde_json::Value = call(Method::GET, cred).send().await.unwrap().json().await.unwrap();
    assert_eq!(after["email"], email.as_str(), "nothing changed");
}
