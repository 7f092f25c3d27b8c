//! CIAM logins across two `resetd serve` processes on one PostgreSQL and one Redis: a token
//! one process issued works on the other, and a reset through one (an administrator's link)
//! ends it on the other at once, and lifts the other's lockout.

use reqwest::StatusCode;
use resetd_test_support::{shared_postgres_url, shared_redis_url, ResetdProcess};
use serde_json::{json, Value};

use crate::backends::{as_refs, env, fresh_database, login as looker_login, operator};

const PASSWORD: &str = "Old-Zeppelin-42";

async fn token(http: &reqwest::Client, base: &str, client: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = http.post(format!("{base}/oauth2/token")).basic_auth(client, None::<&str>).form(form).send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

async fn userinfo(http: &reqwest::Client, base: &str, access: &str) -> StatusCode {
    http.get(format!("{base}/userinfo")).bearer_auth(access).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_through_one_process_ends_the_tokens_of_the_other_and_lifts_its_lockout() {
    let (database, redis) = (fresh_database(&shared_postgres_url()).await, shared_redis_url());
    let prefix = resetd_ports::testkit::unique("logins:") + ":";
    let ops = operator(&database, &redis, &prefix).await;
    let mut envs = env(&database, &redis, &prefix);
    // Behind one load balancer: one issuer (and, from the harness, one signing key).
    for (k, v) in [
        ("RESETD__OIDC__ISSUER", "https://id.example.test"),
        ("RESETD__MAIL__ENABLED", "false"),
        ("RESETD__SMS__ENABLED", "false"),
        ("RESETD__LOGIN__LOCKOUT_THRESHOLD", "3"),
    ] {
        envs.push((k.to_owned(), v.to_owned()));
    }
    let (one, two) = (ResetdProcess::start(&as_refs(&envs)), ResetdProcess::start(&as_refs(&envs)));
    let (one, two, http) = (one.base_url(), two.base_url(), reqwest::Client::new());
    let spa = ops.bootstrap.create_client("spa", "app", resetd_app::bootstrap::ClientPolicy::Default).await.unwrap();
    let spa = spa.client_id.as_str().to_owned();
    let user = ops.bootstrap.create_user("ada@example.com", None, Some(PASSWORD.into()), None).await.unwrap();
    let password = |p: &'static str| [("grant_type", "password"), ("username", "ada@example.com"), ("password", p)];

    let (status, tokens) = token(&http, &one, &spa, &password(PASSWORD)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo(&http, &two, &access).await, StatusCode::OK, "issued by one, accepted by two");
    // Locked out through the other process.
    for _ in 0..3 {
        token(&http, &two, &spa, &password("Wrong-Zeppelin-1")).await;
    }
    let (_, body) = token(&http, &one, &spa, &password(PASSWORD)).await;
    assert_eq!(body["error_description"], "Abnormal user status", "the lock holds on both");

    // An administrator's link, minted and redeemed through the first process.
    let admin = ops.bootstrap.create_api_credentials("admin@example.com", true).await.unwrap();
    let session = looker_login(&one, admin.client_id.as_str(), admin.client_secret.expose()).await;
    let url = format!("{one}/api/4.0/users/{user}/credentials_email/password_reset?expires=true");
    let minted: Value = http.post(url).bearer_auth(&session).send().await.unwrap().json().await.unwrap();
    let link = minted["password_reset_url"].as_str().unwrap();
    let redeem = json!({"token": link.rsplit('/').next().unwrap(), "password": "Tr4vel-by-Zeppelin"});
    let r = http.post(format!("{one}/password/reset")).json(&redeem).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());

    assert_eq!(userinfo(&http, &two, &access).await, StatusCode::UNAUTHORIZED, "ended on the other at once");
    let (status, body) =
        token(&http, &two, &spa, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, body) = token(&http, &two, &spa, &password("Tr4vel-by-Zeppelin")).await;
    assert_eq!(status, StatusCode::OK, "the reset lifted the lock: {body}");
}
