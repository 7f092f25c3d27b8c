//! The CIAM token endpoint over HTTP: the password and refresh grants, every documented
//! error, each client type, the login lockout and its clearing by a reset.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::helpers::{ciam_post, client, code_to, login, token, Creds, TestApp};

pub(crate) const PASSWORD: &str = "Old-Zeppelin-42";

/// A user with an email, a phone number and `PASSWORD`: its email and id.
pub(crate) async fn user(app: &TestApp, phone: Option<&str>) -> (String, String) {
    let email = format!("{}@example.com", resetd_ports::testkit::unique("login"));
    let id = app.app.bootstrap.create_user(&email, phone, Some(PASSWORD.into()), None).await.unwrap();
    (email, id.to_string())
}

fn grant_error(body: &Value) -> (&str, &str) {
    (body["error"].as_str().unwrap_or_default(), body["error_description"].as_str().unwrap_or_default())
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn every_client_type_that_logs_users_in_gets_the_documented_answer(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let phone = format!("+861361{:07}", rand_digits());
    let (email, id) = user(&app, Some(&phone)).await;
    for kind in ["web", "spa", "mobile"] {
        let c = client(&app, kind).await;
        let form = [
            ("grant_type", "password"),
            ("username", email.as_str()),
            ("password", PASSWORD),
            ("auth_source_id", "any"),
        ];
        let (status, cache, body) = token(&app, &c, &form).await;
        assert_eq!((status, cache.as_str()), (StatusCode::OK, "no-store"), "{kind}: {body}");
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"]);
        assert_eq!(
            (&body["token_type"], &body["scope"], &body["expires_in"]),
            (&json!("Bearer"), &json!("openid"), &json!(600))
        );
        assert!(body["refresh_token"].as_str().unwrap().starts_with(&format!("{id}.")), "{body}");
    }
    // The phone number, in its national spelling, names the same user; the email in capitals too.
    let web = client(&app, "web").await;
    assert_eq!(login(&app, &web, &phone[3..], PASSWORD).await.0, StatusCode::OK, "normalised phone");
    assert_eq!(login(&app, &web, &email.to_uppercase(), PASSWORD).await.0, StatusCode::OK, "normalised email");
    // M2M has no user: unauthorized_client, whatever the credentials.
    let m2m = client(&app, "m2m").await;
    let (status, body) = login(&app, &m2m, &email, PASSWORD).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")), "{body}");
}

fn rand_digits() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos() % 10_000_000
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn every_documented_error_of_the_token_endpoint(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let (email, id) = user(&app, None).await;
    let web = client(&app, "web").await;
    let wrong = login(&app, &web, &email, "Wrong-Zeppelin-1").await;
    let unknown = login(&app, &web, "nobody-here@example.com", PASSWORD).await;
    assert_eq!(wrong, unknown, "a wrong password and an unknown user answer alike");
    assert_eq!(
        (wrong.0, grant_error(&wrong.1)),
        (StatusCode::BAD_REQUEST, ("invalid_grant", "Wrong username or password"))
    );
    let (status, body) = login(&app, &web, "not a username", PASSWORD).await;
    assert_eq!(
        (status, grant_error(&body)),
        (StatusCode::BAD_REQUEST, ("invalid_grant", "Unsupported username identifier"))
    );
    let (status, _, body) = token(&app, &web, &[("grant_type", "password"), ("username", &email)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{body}");
    let (status, _, body) = token(&app, &web, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, grant_error(&body)),
        (StatusCode::BAD_REQUEST, ("unsupported_grant_type", "OAuth 2.0 Parameter: grant_type"))
    );
    assert_eq!(body["error_uri"], "https://datatracker.ietf.org/doc/html/rfc6749#section-5.2", "as documented");
    let (status, _, body) = token(&app, &web, &[("username", &email)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{body}");
    let bad_secret = Creds { id: web.id.clone(), secret: Some("x".repeat(43)) };
    let (status, cache, body) =
        token(&app, &bad_secret, &[("grant_type", "password"), ("username", &email), ("password", PASSWORD)]).await;
    assert_eq!(
        (status, body["error"].as_str(), cache.as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"), "no-store")
    );
    let (status, _, body) =
        token(&app, &web, &[("grant_type", "refresh_token"), ("refresh_token", "7.nope.nope")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");

    // Status answers come only after the password verified.
    for status_name in ["frozen", "locked", "disabled"] {
        app.app.bootstrap.set_user_status(&id, status_name).await.unwrap();
        let wrong = login(&app, &web, &email, "Wrong-Zeppelin-1").await;
        assert_eq!(grant_error(&wrong.1), ("invalid_grant", "Wrong username or password"), "{status_name}");
        let right = login(&app, &web, &email, PASSWORD).await;
        assert_eq!(grant_error(&right.1), ("invalid_grant", "Abnormal user status"), "{status_name}");
    }
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn the_lockout_locks_known_accounts_silently_and_a_reset_clears_it(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| s.login.lockout_threshold = 3).await;
    let (email, id) = user(&app, None).await;
    let web = client(&app, "web").await;
    for _ in 0..3 {
        let (_, body) = login(&app, &web, &email, "Wrong-Zeppelin-1").await;
        assert_eq!(grant_error(&body), ("invalid_grant", "Wrong username or password"));
    }
    // Locked: a wrong password still answers as wrong, the right one with the status.
    let (_, body) = login(&app, &web, &email, "Wrong-Zeppelin-1").await;
    assert_eq!(grant_error(&body), ("invalid_grant", "Wrong username or password"), "no tell");
    let (status, body) = login(&app, &web, &email, PASSWORD).await;
    assert_eq!((status, grant_error(&body)), (StatusCode::BAD_REQUEST, ("invalid_grant", "Abnormal user status")));
    // Unknown usernames count the same way and answer the same way.
    for _ in 0..4 {
        let (_, body) = login(&app, &web, "nobody-here@example.com", "Wrong-Zeppelin-1").await;
        assert_eq!(grant_error(&body), ("invalid_grant", "Wrong username or password"));
    }
    // The operator's unlock (`resetd admin set-user-status … active`) lifts it too.
    app.app.bootstrap.set_user_status(&id, "active").await.unwrap();
    assert_eq!(login(&app, &web, &email, PASSWORD).await.0, StatusCode::OK, "unlocked by the operator");
    for _ in 0..3 {
        login(&app, &web, &email, "Wrong-Zeppelin-1").await;
    }
    assert_eq!(grant_error(&login(&app, &web, &email, PASSWORD).await.1).1, "Abnormal user status", "locked again");
    // A reset by OTP clears the lock: the new password logs in at once.
    let otp = ciam_post(&app, "/otp/send", &web, json!({"usage": "reset_password", "email": email})).await.1;
    let code = code_to(&email).await;
    let body = json!({"password": "Tr4vel-by-Zeppelin", "email": email, "email_otp_token": otp["otp_token"], "email_otp": code});
    assert_eq!(ciam_post(&app, "/reset_user_password", &web, body).await.0, StatusCode::OK);
    let (status, body) = login(&app, &web, &email, "Tr4vel-by-Zeppelin").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn an_administrators_lock_is_not_cleared_by_a_self_service_reset(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let (email, id) = user(&app, None).await;
    let web = client(&app, "web").await;
    app.app.bootstrap.set_user_status(&id, "locked").await.unwrap();
    let otp = ciam_post(&app, "/otp/send", &web, json!({"usage": "reset_password", "email": email})).await.1;
    let code = code_to(&email).await;
    let body = json!({"password": "Tr4vel-by-Zeppelin", "email": email, "email_otp_token": otp["otp_token"], "email_otp": code});
    let (status, refused) = ciam_post(&app, "/reset_user_password", &web, body).await;
    assert_eq!((status, refused["error_description"].as_str()), (StatusCode::BAD_REQUEST, Some("User is locked.")));
    assert_eq!(grant_error(&login(&app, &web, &email, PASSWORD).await.1), ("invalid_grant", "Abnormal user status"));
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn refresh_rotates_and_a_replay_ends_the_login_except_within_the_grace_window(pool: PgPool) {
    let app = TestApp::spawn_with(&pool, |s| s.ciam.refresh_grace_secs = 2).await;
    let (email, _) = user(&app, None).await;
    let mobile = client(&app, "mobile").await;
    let first = login(&app, &mobile, &email, PASSWORD).await.1;
    let r0 = first["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |t: String| {
        let (app, c) = (&app, &mobile);
        async move { token(app, c, &[("grant_type", "refresh_token"), ("refresh_token", &t)]).await }
    };
    let (status, cache, second) = refresh(r0.clone()).await;
    assert_eq!((status, cache.as_str()), (StatusCode::OK, "no-store"), "{second}");
    let r1 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r0, "rotated");
    // A retry of the same refresh within the grace window: the same answer, nothing ended.
    let (status, _, retry) = refresh(r0.clone()).await;
    assert_eq!((status, &retry), (StatusCode::OK, &second), "the same new pair");
    // Another client cannot use it.
    let web = client(&app, "web").await;
    let (status, _, body) = token(&app, &web, &[("grant_type", "refresh_token"), ("refresh_token", &r1)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, _, third) = refresh(r1.clone()).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let r2 = third["refresh_token"].as_str().unwrap().to_owned();
    // Past the grace window, the rotated token is a replay: the whole login ends.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let (status, _, body) = refresh(r1).await;
    assert_eq!((status, grant_error(&body).0), (StatusCode::BAD_REQUEST, "invalid_grant"));
    let (status, _, body) = refresh(r2).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "the family is gone"
    );
    // A fresh login is unaffected.
    assert_eq!(login(&app, &mobile, &email, PASSWORD).await.0, StatusCode::OK);
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn twenty_parallel_logins_all_succeed(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let (email, _) = user(&app, None).await;
    let spa = client(&app, "spa").await;
    let logins = (0..20).map(|_| login(&app, &spa, &email, PASSWORD));
    let answers = futures::future::join_all(logins).await;
    assert!(answers.iter().all(|(s, _)| *s == StatusCode::OK), "{answers:?}");
    let tokens: std::collections::HashSet<_> = answers.iter().map(|(_, b)| b["refresh_token"].to_string()).collect();
    assert_eq!(tokens.len(), 20, "twenty logins, twenty sessions");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_login_rehashes_a_password_made_under_older_argon2_parameters(pool: PgPool) {
    let old = TestApp::spawn(&pool).await;
    let (email, id) = user(&old, None).await;
    let stored = || async {
        let row: (String, i64, i64) =
            sqlx::query_as("SELECT password_hash, password_version, generation FROM users WHERE id = $1")
                .bind(id.parse::<i64>().unwrap())
                .fetch_one(&pool)
                .await
                .unwrap();
        row
    };
    let before = stored().await;
    assert!(before.0.contains("m=19456,"), "{}", before.0);
    let new = TestApp::spawn_with(&pool, |s| s.argon2.memory_kib = 12_288).await;
    let web = client(&new, "web").await;
    let (status, body) = login(&new, &web, &email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = stored().await;
    assert!(after.0.contains("m=12288,"), "rehashed under the new parameters: {}", after.0);
    assert_eq!((after.1, after.2), (before.1, before.2), "no version or generation bump");
    let access = body["access_token"].as_str().unwrap();
    let r = new.http.get(new.url("/userinfo")).bearer_auth(access).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the login's own token survives its rehash");
    assert_eq!(login(&new, &web, &email, PASSWORD).await.0, StatusCode::OK, "the new hash verifies");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_client_may_have_its_own_token_lifetimes_and_lockout(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let (email, _) = user(&app, None).await;
    let (strict, plain) = (client(&app, "mobile").await, client(&app, "web").await);
    let own = resetd_ports::clients::ClientLogin {
        access_token_ttl_secs: Some(120),
        lockout_threshold: Some(2),
        ..Default::default()
    };
    let switches = resetd_app::bootstrap::ClientSwitches { login: Some(own), ..Default::default() };
    app.app.bootstrap.set_client_switches(&strict.id, switches).await.unwrap();
    let zero = resetd_ports::clients::ClientLogin { access_token_ttl_secs: Some(0), ..Default::default() };
    let refused = resetd_app::bootstrap::ClientSwitches { login: Some(zero), ..Default::default() };
    assert!(app.app.bootstrap.set_client_switches(&strict.id, refused).await.is_err(), "no zero lifetime");
    assert_eq!(login(&app, &strict, &email, PASSWORD).await.1["expires_in"], 120);
    assert_eq!(login(&app, &plain, &email, PASSWORD).await.1["expires_in"], 600, "the service's");
    // Two failures through the strict client lock the account for every client.
    for _ in 0..2 {
        login(&app, &strict, &email, "Wrong-Zeppelin-1").await;
    }
    let (_, body) = login(&app, &plain, &email, PASSWORD).await;
    assert_eq!(grant_error(&body), ("invalid_grant", "Abnormal user status"), "the lock is the user's");
    // A client cannot loosen the lockout: the service's five still lock through a lax one.
    let lax = client(&app, "spa").await;
    let off = resetd_ports::clients::ClientLogin { lockout_threshold: Some(0), ..Default::default() };
    let switches = resetd_app::bootstrap::ClientSwitches { login: Some(off), ..Default::default() };
    app.app.bootstrap.set_client_switches(&lax.id, switches).await.unwrap();
    let (other, _) = user(&app, None).await;
    for _ in 0..5 {
        login(&app, &lax, &other, "Wrong-Zeppelin-1").await;
    }
    let (_, body) = login(&app, &lax, &other, PASSWORD).await;
    assert_eq!(grant_error(&body), ("invalid_grant", "Abnormal user status"), "no way around the lockout");
}
