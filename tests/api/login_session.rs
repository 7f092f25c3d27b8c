//! What an application does with a CIAM login: `/userinfo`, `/change_user_password`,
//! `/oauth2/revoke`, and validating the tokens against the JWKS from discovery; a reset on
//! one process ends the tokens at another.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{ciam_post, client, code_to, login, token, Creds, TestApp};
use crate::login::{user, PASSWORD};

/// `GET /userinfo` with `access`: the status, the `WWW-Authenticate` header, the body.
async fn userinfo(app: &TestApp, access: Option<&str>) -> (StatusCode, String, String) {
    let mut r = app.http.get(app.url("/userinfo"));
    if let Some(a) = access {
        r = r.bearer_auth(a);
    }
    let r = r.send().await.unwrap();
    let challenge = r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (r.status(), challenge, r.text().await.unwrap())
}

async fn change(app: &TestApp, access: &str, old: &str, new: &str) -> (StatusCode, Value) {
    let body = json!({"old_password": old, "new_password": new});
    let r = app.http.post(app.url("/change_user_password")).bearer_auth(access).json(&body).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

fn access_of(body: &Value) -> String {
    body["access_token"].as_str().unwrap().to_owned()
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn tokens_verify_against_the_jwks_that_discovery_names(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let (email, id) = user(&app, None).await;
    let web = client(&app, "web").await;
    let tokens = login(&app, &web, &email, PASSWORD).await.1;
    let discovery: Value =
        app.http.get(app.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["issuer"], app.base);
    assert_eq!(discovery["token_endpoint"], app.url("/oauth2/token"));
    assert_eq!(discovery["userinfo_endpoint"], app.url("/userinfo"));
    assert_eq!(discovery["revocation_endpoint"], app.url("/oauth2/revoke"));
    assert_eq!(
        discovery["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(discovery["grant_types_supported"], json!(["password", "refresh_token"]));
    assert_eq!(discovery["id_token_signing_alg_values_supported"], json!(["ES256"]));
    let jwks: JwkSet =
        app.http.get(discovery["jwks_uri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    for (name, text) in [("id_token", &tokens["id_token"]), ("access_token", &tokens["access_token"])] {
        let text = text.as_str().unwrap();
        let kid = jsonwebtoken::decode_header(text).unwrap().kid.unwrap();
        let jwk = jwks.find(&kid).unwrap_or_else(|| panic!("{name}: kid {kid} is in the JWKS"));
        let mut v = Validation::new(jsonwebtoken::Algorithm::ES256);
        v.set_issuer(&[&app.base]);
        v.set_audience(&[&web.id]);
        let claims = jsonwebtoken::decode::<Value>(text, &DecodingKey::from_jwk(jwk).unwrap(), &v).unwrap().claims;
        assert_eq!(claims["sub"], id, "{name}");
        assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap(), "{name}");
        if name == "id_token" {
            assert_eq!(claims["email"], email.as_str());
            assert!(claims["auth_time"].is_i64());
        } else {
            assert_eq!(claims["client_id"], web.id.as_str());
        }
    }
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn userinfo_answers_the_user_and_rfc_6750_errors(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let (email, id) = user(&app, None).await;
    let spa = client(&app, "spa").await;
    let access = access_of(&login(&app, &spa, &email, PASSWORD).await.1);
    let (status, _, body) = userinfo(&app, Some(&access)).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, &body["sub"], &body["email"]), (StatusCode::OK, &json!(id), &json!(email)), "{body}");
    let (status, challenge, body) = userinfo(&app, None).await;
    assert_eq!((status, body.as_str()), (StatusCode::BAD_REQUEST, ""));
    assert!(challenge.starts_with(r#"Bearer error="invalid_request""#), "{challenge}");
    let (status, challenge, body) = userinfo(&app, Some("not-a-token")).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, ""));
    assert!(challenge.contains(r#"error="invalid_token""#) && challenge.contains("rfc6750"), "{challenge}");
    // An ID token of the same login is no access token (its `typ` is not `at+jwt`).
    let tokens = login(&app, &spa, &email, PASSWORD).await.1;
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(userinfo(&app, Some(id_token)).await.0, StatusCode::UNAUTHORIZED, "an ID token");
    let typ = jsonwebtoken::decode_header(tokens["access_token"].as_str().unwrap()).unwrap().typ;
    assert_eq!(typ.as_deref(), Some("at+jwt"), "RFC 9068");
    // The user goes away: 404 user_not_found.
    let admin = app.admin_token(true).await;
    let deleted = app.http.delete(app.url(&format!("/api/4.0/users/{id}"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (status, _, body) = userinfo(&app, Some(&access)).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("user_not_found"))
    );
    let (status, body) = change(&app, &access, PASSWORD, "New-Zeppelin-43").await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("user_not_found")), "400 on a change");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn change_user_password_answers_each_documented_error_then_revokes_every_token(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let (email, id) = user(&app, None).await;
    let web = client(&app, "web").await;
    let other = access_of(&login(&app, &web, &email, PASSWORD).await.1);
    let access = access_of(&login(&app, &web, &email, PASSWORD).await.1);
    let error = |r: (StatusCode, Value)| (r.0, r.1["error"].as_str().unwrap_or_default().to_owned());
    let bad = StatusCode::BAD_REQUEST;
    assert_eq!(error(change(&app, &access, "Wrong-1", "New-Zeppelin-43").await), (bad, "wrong_old_password".into()));
    assert_eq!(error(change(&app, &access, PASSWORD, PASSWORD).await), (bad, "duplicate_password".into()));
    assert_eq!(error(change(&app, &access, PASSWORD, "short").await), (bad, "invalid_new_password".into()));
    let r = app.http.post(app.url("/change_user_password")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no token");
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("invalid_request"));
    // A change: 200 with no body, the notice goes out, and every token of the user dies.
    assert_eq!(change(&app, &access, PASSWORD, "New-Zeppelin-43").await, (StatusCode::OK, Value::Null));
    crate::helpers::mail_to_with(&email, "changed").await;
    for dead in [&access, &other] {
        assert_eq!(userinfo(&app, Some(dead)).await.0, StatusCode::UNAUTHORIZED);
    }
    let fresh = access_of(&login(&app, &web, &email, "New-Zeppelin-43").await.1);
    assert_eq!(error(change(&app, &fresh, "New-Zeppelin-43", PASSWORD).await), (bad, "recurrent_password".into()));
    // A frozen user: the documented words.
    app.app.bootstrap.set_user_status(&id, "frozen").await.unwrap();
    let (status, body) = change(&app, &fresh, "New-Zeppelin-43", "Another-Zeppelin-44").await;
    assert_eq!((status, body["error_description"].as_str()), (bad, Some("User is frozen.")), "{body}");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn wrong_old_passwords_lock_the_account_and_a_locked_user_cannot_change(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| s.login.lockout_threshold = 2).await;
    let (email, _) = user(&app, None).await;
    let web = client(&app, "web").await;
    let access = access_of(&login(&app, &web, &email, PASSWORD).await.1);
    for _ in 0..2 {
        assert_eq!(change(&app, &access, "Wrong-1", "New-Zeppelin-43").await.1["error"], "wrong_old_password");
    }
    let (_, body) = change(&app, &access, PASSWORD, "New-Zeppelin-43").await;
    assert_eq!(
        (body["error"].as_str(), body["error_description"].as_str()),
        (Some("abnormal_user_status"), Some("User is locked."))
    );
    assert_eq!(login(&app, &web, &email, PASSWORD).await.1["error_description"], "Abnormal user status");
}

async fn revoke(app: &TestApp, c: &Creds, token: &str) -> StatusCode {
    let r = app.http.post(app.url("/oauth2/revoke")).basic_auth(&c.id, c.secret.as_deref()).form(&[("token", token)]);
    r.send().await.unwrap().status()
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn revoking_a_refresh_token_ends_its_login_and_only_for_its_client(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let (email, _) = user(&app, None).await;
    let (web, mobile) = (client(&app, "web").await, client(&app, "mobile").await);
    let tokens = login(&app, &web, &email, PASSWORD).await.1;
    let (access, refresh) = (access_of(&tokens), tokens["refresh_token"].as_str().unwrap().to_owned());
    let kept = login(&app, &web, &email, PASSWORD).await.1;
    assert_eq!(revoke(&app, &mobile, &refresh).await, StatusCode::OK, "RFC 7009: 200 anyway");
    assert_eq!(userinfo(&app, Some(&access)).await.0, StatusCode::OK, "another client's revocation does nothing");
    assert_eq!(revoke(&app, &web, "garbage").await, StatusCode::OK);
    let wrong = Creds { id: web.id.clone(), secret: Some("x".repeat(43)) };
    assert_eq!(revoke(&app, &wrong, &refresh).await, StatusCode::UNAUTHORIZED);
    assert_eq!(revoke(&app, &web, &refresh).await, StatusCode::OK);
    assert_eq!(userinfo(&app, Some(&access)).await.0, StatusCode::UNAUTHORIZED, "its access tokens end too");
    let (status, _, body) = token(&app, &web, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert_eq!(userinfo(&app, Some(&access_of(&kept))).await.0, StatusCode::OK, "the other login lives");
    // An access token revokes its login too.
    assert_eq!(revoke(&app, &web, &access_of(&kept)).await, StatusCode::OK);
    assert_eq!(userinfo(&app, Some(&access_of(&kept))).await.0, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_reset_on_one_process_ends_the_tokens_issued_by_another(pool: PgPool) {
    let prefix = resetd_ports::testkit::unique("test:") + ":";
    // Behind one load balancer: one Redis, one database, one issuer, one signing key.
    let shared = |s: &mut resetd_server::Settings| {
        s.redis.key_prefix.clone_from(&prefix);
        s.oidc.issuer = "https://id.example.test".into();
    };
    let (one, two) = (TestApp::spawn_with(&pool, shared).await, TestApp::spawn_with(&pool, shared).await);
    let (email, _) = user(&one, None).await;
    let web = client(&one, "web").await;
    let tokens = login(&one, &web, &email, PASSWORD).await.1;
    let (access, refresh) = (access_of(&tokens), tokens["refresh_token"].as_str().unwrap().to_owned());
    assert_eq!(userinfo(&two, Some(&access)).await.0, StatusCode::OK, "the other process accepts it");
    let otp = ciam_post(&one, "/otp/send", &web, json!({"usage": "reset_password", "email": email})).await.1;
    let code = code_to(&email).await;
    let body = json!({"password": "Tr4vel-by-Zeppelin", "email": email, "email_otp_token": otp["otp_token"], "email_otp": code});
    assert_eq!(ciam_post(&one, "/reset_user_password", &web, body).await.0, StatusCode::OK);
    assert_eq!(userinfo(&two, Some(&access)).await.0, StatusCode::UNAUTHORIZED, "revoked at once on the other");
    let (status, _, body) = token(&two, &web, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert_eq!(login(&two, &web, &email, "Tr4vel-by-Zeppelin").await.0, StatusCode::OK, "the new password logs in");
}
