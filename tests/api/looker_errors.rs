//! Looker API 4.0 through HTTP: errors in its dialect, bodies it refuses, login limits.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{create_user, get_json, TestApp};

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn errors_speak_the_looker_dialect(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let anon = app.http.get(app.url("/api/4.0/user")).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anon.json().await.unwrap();
    assert_eq!(body["message"], "Requires authentication.");
    assert!(!body["documentation_url"].as_str().unwrap().contains("looker"));

    let token = app.admin_token(true).await;
    let missing = app
        .http
        .post(app.url("/api/4.0/users/999999/credentials_email/password_reset"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.json::<Value>().await.unwrap()["message"], "Not found");

    let bad_login = app
        .http
        .post(app.url("/api/4.0/login"))
        .form(&[("client_id", "nobody"), ("client_secret", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_login.status(), StatusCode::NOT_FOUND);

    let bad_expires = app
        .http
        .post(app.url("/api/4.0/users/1/credentials_email/password_reset?expires=maybe"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_expires.status(), StatusCode::BAD_REQUEST);

    let id = create_user(&app, &token, "dup.e2e@example.com").await;
    let dup = app
        .http
        .post(app.url(&format!("/api/4.0/users/{id}/credentials_email")))
        .bearer_auth(&token)
        .json(&json!({"email": "x.e2e@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    let malformed = app
        .http
        .patch(app.url(&format!("/api/4.0/users/{id}/credentials_email")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert!(malformed.json::<Value>().await.unwrap()["message"].is_string());
    let invalid = app
        .http
        .patch(app.url(&format!("/api/4.0/users/{id}/credentials_email")))
        .bearer_auth(&token)
        .json(&json!({"email": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let user_token = app.admin_token(false).await;
    let forbidden = app
        .http
        .post(app.url(&format!("/api/4.0/users/{id}/credentials_email/password_reset")))
        .bearer_auth(&user_token)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    let out = app.http.delete(app.url("/api/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = app.http.get(app.url("/api/4.0/user")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn login_is_rate_limited(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| s.limits.login_failures_per_client_ip_per_minute = 3).await;
    let mut last = StatusCode::OK;
    for _ in 0..4 {
        last = app
            .http
            .post(app.url("/api/4.0/login"))
            .form(&[("client_id", "guessme"), ("client_secret", "x")])
            .send()
            .await
            .unwrap()
            .status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn oversized_and_mistyped_bodies_get_looker_errors(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let huge = format!("{{\"first_name\": \"{}\"}}", "x".repeat(100 * 1024));
    let r = app
        .http
        .post(app.url("/api/4.0/users"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json::<Value>().await.unwrap()["message"].is_string());
    let r = app
        .http
        .post(app.url("/api/4.0/users"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.json::<Value>().await.unwrap()["documentation_url"].is_string());
    let r = app.http.get(app.url("/api/4.0/nothing/here")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["message"], "Not found");
}

/// Bodies are JSON objects: an array where an object belongs is a `400`, never read as the
/// object's fields in order; a `null` body counts as an empty one.

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn arrays_are_not_objects_and_null_is_no_body(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let post = |body: &'static str| {
        app.http
            .post(app.url("/api/4.0/users"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for body in [r#"["Ada", "Lovelace"]"#, r#"{"credentials_email": ["ada@example.com"]}"#, "42"] {
        let r = post(body).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert!(r.json::<Value>().await.unwrap()["message"].as_str().unwrap().contains("not valid JSON"), "{body}");
    }
    let r = post("null").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.json::<Value>().await.unwrap()["id"].is_string());
    let r =
        app.http.get(app.url("/api/4.0/users?offset=9223372036854775808")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["message"], "offset and limit must be at most 9223372036854775807.");
}

/// Found by schemathesis: `PATCH /users/{id}` with a `credentials_email.email` that is no
/// address answered 200 and ignored it. Now a bad one is a 422 that writes nothing, and a
/// good one changes the user's email.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_user_patch_checks_and_applies_its_email(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let id = create_user(&app, &token, "patch.before@example.com").await;
    let patch =
        |body: Value| app.http.patch(app.url(&format!("/api/4.0/users/{id}"))).bearer_auth(&token).json(&body).send();
    let bad = patch(json!({"first_name": "Changed", "credentials_email": {"email": "not an address"}})).await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let user = get_json(&app, &format!("/api/4.0/users/{id}"), &token).await;
    assert_eq!((user["first_name"].as_str(), user["email"].as_str()), (Some("Ada"), Some("patch.before@example.com")));
    let good = patch(json!({"credentials_email": {"email": "Patch.After@Example.com"}})).await.unwrap();
    assert_eq!(good.status(), StatusCode::OK);
    assert_eq!(good.json::<Value>().await.unwrap()["email"], "patch.after@example.com");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_user_patch_whose_email_is_taken_changes_nothing(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    create_user(&app, &token, "taken.first@example.com").await;
    let id = create_user(&app, &token, "taken.second@example.com").await;
    let body = json!({"first_name": "Changed", "is_disabled": true, "credentials_email": {"email": "taken.first@example.com"}});
    let r = app.http.patch(app.url(&format!("/api/4.0/users/{id}"))).bearer_auth(&token).json(&body).send();
    assert_eq!(r.await.unwrap().status(), StatusCode::CONFLICT);
    let user = get_json(&app, &format!("/api/4.0/users/{id}"), &token).await;
    let seen = (user["first_name"].as_str(), user["is_disabled"].as_bool(), user["email"].as_str());
    assert_eq!(seen, (Some("Ada"), Some(false), Some("taken.second@example.com")), "the refused patch wrote nothing");
}
