//! Looker API 4.0 through HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{create_user, get_json, mail_to, mail_to_with, redeem, reset_url, TestApp};

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn an_admin_creates_a_reset_link_and_it_redeems_once(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let id = create_user(&app, &token, "ada.e2e@example.com").await;

    let cred = reset_url(&app, &token, &id, "?expires=true").await;
    let url = cred["password_reset_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/password/reset/", app.base)), "{url}");
    assert_eq!(cred["password_reset_url_expired"], false);
    assert_eq!(cred["account_setup_url_expired"], true);
    assert_eq!(cred["type"], "email");
    assert_eq!(cred["user_id"], id.as_str());

    let later: Value = get_json(&app, &format!("/api/4.0/users/{id}/credentials_email"), &token).await;
    assert_eq!(later["password_reset_url"], Value::Null, "the URL is shown once");
    assert_eq!(later["password_reset_url_expired"], false);

    let page = app.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form"));

    let weak = redeem(&app, &url, "short").await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = weak.json().await.unwrap();
    assert!(body["errors"].as_array().unwrap().iter().all(|e| e["documentation_url"].is_string()));

    assert_eq!(
        redeem(&app, &url, "Tr4vel-by-Zeppelin").await.status(),
        StatusCode::OK,
        "a refused password left the link usable"
    );
    assert_eq!(redeem(&app, &url, "An0ther-Zeppelin!").await.status(), StatusCode::NOT_FOUND, "single use");
    let notice = mail_to_with("ada.e2e@example.com", "Your password was changed").await;
    assert!(notice.contains("Subject:"), "a password-changed notice was mailed (through the outbox)");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_new_token_replaces_the_old_and_fields_are_honoured(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let id = create_user(&app, &token, "grace.e2e@example.com").await;
    let first = reset_url(&app, &token, &id, "").await["password_reset_url"].as_str().unwrap().to_owned();
    let second = reset_url(&app, &token, &id, "?expires=false&fields=email,password_reset_url").await;
    assert_eq!(second.as_object().unwrap().len(), 2, "fields keeps only the named keys: {second}");
    assert_eq!(redeem(&app, &first, "Tr4vel-by-Zeppelin").await.status(), StatusCode::NOT_FOUND);
    let url = second["password_reset_url"].as_str().unwrap();
    assert_eq!(redeem(&app, url, "Tr4vel-by-Zeppelin").await.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn fifty_concurrent_redemptions_of_one_link_succeed_once(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let id = create_user(&app, &token, "race.e2e@example.com").await;
    let url = reset_url(&app, &token, &id, "?expires=true").await["password_reset_url"].as_str().unwrap().to_owned();
    let tries = (0..50).map(|i| {
        let (app, url) = (&app, &url);
        async move { redeem(app, url, &format!("Tr4vel-by-Zeppelin-{i}")).await.status() }
    });
    let statuses = futures::future::join_all(tries).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::NOT_FOUND), "{statuses:?}");
    let history: i64 = sqlx::query_scalar("select count(*) from password_history").fetch_one(&pool).await.unwrap();
    assert_eq!(history, 1);
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn an_expiring_link_dies_at_sixty_minutes_on_the_injected_clock(pool: PgPool) {
    let clock = std::sync::Arc::new(resetd_ports::testkit::ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_full(&pool, |_| {}, clock.clone()).await;
    let token = app.admin_token(true).await;
    let id = create_user(&app, &token, "clock.e2e@example.com").await;
    let url = reset_url(&app, &token, &id, "?expires=true").await["password_reset_url"].as_str().unwrap().to_owned();
    clock.advance(std::time::Duration::from_secs(59 * 60 + 59));
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), StatusCode::OK, "alive at 59:59");
    clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND, "dead at 60:00");
    let cred: Value = get_json(&app, &format!("/api/4.0/users/{id}/credentials_email"), &token).await;
    assert_eq!(cred["password_reset_url_expired"], true);
    assert_eq!(redeem(&app, &url, "Tr4vel-by-Zeppelin").await.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn send_password_reset_mails_a_setup_link_then_a_reset_link(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let id = create_user(&app, &token, "mailed.e2e@example.com").await;
    let send = || {
        app.http
            .post(app.url(&format!("/api/4.0/users/{id}/credentials_email/send_password_reset")))
            .bearer_auth(&token)
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let setup = first["account_setup_url"].as_str().expect("a user without a password gets a setup link").to_owned();
    assert!(setup.contains("/account/setup/"));
    let mail = mail_to("mailed.e2e@example.com").await;
    assert!(mail.contains(&setup), "the mail carries the link");
    assert_eq!(app.http.get(&setup).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(redeem(&app, &setup, "Tr4vel-by-Zeppelin").await.status(), StatusCode::OK);
    let second: Value = send().await.unwrap().json().await.unwrap();
    assert!(second["password_reset_url"].as_str().unwrap().contains("/password/reset/"), "{second}");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn password_config_validates_and_drives_the_policy(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let got: Value = get_json(&app, "/api/4.0/password_config", &token).await;
    assert_eq!(got["policy_enabled_at"], Value::Null);
    let bad = app
        .http
        .patch(app.url("/api/4.0/password_config"))
        .bearer_auth(&token)
        .json(&json!({"min_length": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "min_length");
    assert!(body["errors"][0]["documentation_url"].is_string());
    let ok: Value = app
        .http
        .patch(app.url("/api/4.0/password_config"))
        .bearer_auth(&token)
        .json(&json!({"min_length": 20}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["min_length"], 20);
    assert!(ok["policy_enabled_at"].as_str().unwrap().ends_with("+00:00"));
    let id = create_user(&app, &token, "policy.e2e@example.com").await;
    let url = reset_url(&app, &token, &id, "").await["password_reset_url"].as_str().unwrap().to_owned();
    assert_eq!(
        redeem(&app, &url, "Tr4vel-by-Zeppelin").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "18 chars < 20"
    );
    let forced = app
        .http
        .put(app.url("/api/4.0/password_config/force_password_reset_at_next_login_for_all_users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(forced.status(), StatusCode::OK);
    let cred: Value = get_json(&app, &format!("/api/4.0/users/{id}/credentials_email"), &token).await;
    assert_eq!(cred["forced_password_reset_at_next_login"], true);
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn users_and_credentials_have_their_full_lifecycle(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let id = create_user(&app, &token, "life.e2e@example.com").await;
    let patched: Value = app
        .http
        .patch(app.url(&format!("/api/4.0/users/{id}")))
        .bearer_auth(&token)
        .json(&json!({"last_name": "Lovelace", "is_disabled": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (patched["display_name"].as_str(), patched["is_disabled"].as_bool()),
        (Some("Ada Lovelace"), Some(true))
    );
    let listed: Value = get_json(&app, "/api/4.0/users?fields=id", &token).await;
    assert!(listed.as_array().unwrap().iter().any(|u| u == &json!({"id": id})), "{listed}");
    let deleted = app
        .http
        .delete(app.url(&format!("/api/4.0/users/{id}/credentials_email")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(deleted.text().await.unwrap().is_empty());
    let none = app
        .http
        .post(app.url(&format!("/api/4.0/users/{id}/credentials_email/password_reset")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND, "no email credential, no reset");
    let created = app
        .http
        .post(app.url(&format!("/api/4.0/users/{id}/credentials_email")))
        .bearer_auth(&token)
        .json(&json!({"email": "life2.e2e@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(
        app.http.delete(app.url(&format!("/api/4.0/users/{id}"))).bearer_auth(&token).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.http.get(app.url(&format!("/api/4.0/users/{id}"))).bearer_auth(&token).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.http.get(app.url("/api/4.0/users/not-a-number")).bearer_auth(&token).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn the_html_form_shows_errors_in_words_and_then_succeeds(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let id = create_user(&app, &token, "form.e2e@example.com").await;
    let url = reset_url(&app, &token, &id, "").await["password_reset_url"].as_str().unwrap().to_owned();
    let tok = url.rsplit('/').next().unwrap().to_owned();
    let weak = app
        .http
        .post(app.url("/password/reset"))
        .form(&[("token", tok.as_str()), ("password", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = weak.text().await.unwrap();
    assert!(html.contains("role=\"alert\"") && html.contains("too common"), "{html}");
    let ok = app
        .http
        .post(app.url("/password/reset"))
        .form(&[("token", tok.as_str()), ("password", "Tr4vel-by-Zeppelin")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.text().await.unwrap().contains("Your password was changed"));
    let again = app.http.get(&url).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert!(again.text().await.unwrap().contains("invalid or has expired"));
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn reset_links_are_rate_limited_per_caller(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| s.limits.reset_tokens_per_caller_per_minute = 2).await;
    let token = app.admin_token(true).await;
    let id = create_user(&app, &token, "limited.e2e@example.com").await;
    reset_url(&app, &token, &id, "").await;
    reset_url(&app, &token, &id, "").await;
    let r = app
        .http
        .post(app.url(&format!("/api/4.0/users/{id}/credentials_email/password_reset")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.json::<Value>().await.unwrap()["message"].is_string());
}
