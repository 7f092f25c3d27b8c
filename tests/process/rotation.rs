//! Rotating the token key without downtime (Hardening II, item 12): with the new key first and
//! the old one after it, everything issued under the old key keeps working (sessions, links,
//! codes, client and API secrets), secrets are sealed again under the new key as they are
//! used, and `resetd admin key-status` says when the old key can go.

use reqwest::StatusCode;
use resetd_app::bootstrap::ClientPolicy;
use resetd_server::Settings;
use resetd_test_support::{shared_postgres_url, shared_redis_url, token_key, ResetdProcess, SmtpSink};
use serde_json::{json, Value};

use super::backends::{fresh_database, link, login, me, serve};
use super::leaks::{digits, mail_to};

/// Settings with `keys` as `security.token_keys`, a shared Redis prefix, and mail to `sink`.
fn keyed(keys: &[&String], prefix: &str, sink: &SmtpSink) -> impl FnOnce(&mut Settings) {
    let keys: Vec<_> = keys.iter().map(|k| (*k).clone().into()).collect();
    let (prefix, port) = (prefix.to_owned(), sink.port());
    move |s: &mut Settings| {
        s.security.token_key = String::new().into();
        s.security.token_keys = keys;
        s.redis.key_prefix = prefix;
        s.mail.enabled = true;
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = port;
    }
}

/// `resetd admin key-status` as production runs it.
fn key_status(database: &str, redis: &str, prefix: &str, keys: &str) -> Value {
    let env = admin_env(database, redis, prefix, keys);
    let (status, out, err) = ResetdProcess::run(&["admin", "key-status"], &env);
    assert!(status.success(), "resetd admin key-status failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The environment of a production `resetd admin` command.
fn admin_env<'a>(database: &'a str, redis: &'a str, prefix: &'a str, keys: &'a str) -> [(&'static str, &'a str); 6] {
    [
        ("RESETD__DATABASE__URL", database),
        ("RESETD__REDIS__URL", redis),
        ("RESETD__REDIS__KEY_PREFIX", prefix),
        ("RESETD__SECURITY__TOKEN_KEYS", keys),
        ("RESETD__MAIL__ENABLED", "false"),
        ("RESETD__SMS__ENABLED", "false"),
    ]
}

/// The entry of `id` in a key-status answer.
fn entry<'a>(status: &'a Value, id: &str) -> &'a Value {
    status["keys"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap_or_else(|| panic!("{id} in {status}"))
}

fn key_id(key: &str) -> String {
    resetd_domain::keyed::TokenKey::new(key.as_bytes().to_vec()).unwrap().id().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_key_keeps_what_was_issued_and_can_go_once_key_status_says_so() {
    let (database, redis) = (fresh_database(&shared_postgres_url()).await, shared_redis_url());
    let prefix = resetd_ports::testkit::unique("rot:") + ":";
    let sink = SmtpSink::start();
    let (old, new) = (token_key(), token_key());
    let http = reqwest::Client::new();

    // Under the old key alone: two API credentials, a web client, a CIAM user; a session, a
    // link and a code.
    let (a, ops) = serve(&database, &redis, keyed(&[&old], &prefix, &sink)).await;
    let admin = ops.bootstrap.create_api_credentials("rot-admin@example.com", true).await.unwrap();
    let spare = ops.bootstrap.create_api_credentials("rot-spare@example.com", true).await.unwrap();
    let web = ops.bootstrap.create_client("web", "rot", ClientPolicy::Default).await.unwrap();
    let web_secret = web.client_secret.as_ref().unwrap().expose().to_owned();
    ops.bootstrap.create_user("rot.ciam@example.com", None, Some("Old-Zeppelin-42".into()), None).await.unwrap();
    let session = login(&a, admin.client_id.as_str(), admin.client_secret.expose()).await;
    let link_token = link(&a, &session, &spare.user_id.to_string()).await;
    let ciam = |base: &str, path: &str, body: Value| {
        http.post(format!("{base}{path}")).basic_auth(web.client_id.as_str(), Some(&web_secret)).json(&body).send()
    };
    let sent: Value = ciam(&a, "/otp/send", json!({"usage": "reset_password", "email": "rot.ciam@example.com"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let otp_token = sent["otp_token"].as_str().unwrap().to_owned();
    let code = digits(mail_to(&sink, "rot.ciam@example.com").await.split("code is").nth(1).unwrap());
    // The spare credential as a release before key ids would have written it.
    sqlx_exec(&database, "UPDATE api_credentials SET secret_key = NULL WHERE client_id = $1", spare.client_id.as_str())
        .await;

    // The new key first, the old one after it: everything issued under the old key works.
    let (b, _) = serve(&database, &redis, keyed(&[&new, &old], &prefix, &sink)).await;
    let both = format!("{new},{old}");
    let status = key_status(&database, &redis, &prefix, &both);
    let (old_id, new_id) = (key_id(&old), key_id(&new));
    assert_eq!(entry(&status, &new_id)["current"], true);
    assert_eq!(entry(&status, &old_id)["api_credentials"], 1, "{status}");
    assert_eq!(entry(&status, &old_id)["clients"], 1, "{status}");
    assert_eq!(entry(&status, &old_id)["reset_links"], 1, "{status}");
    assert_eq!(status["unlabelled"]["api_credentials"], 1, "{status}");
    assert_eq!(entry(&status, &old_id)["removable"], false);
    let (labelled, _, err) =
        ResetdProcess::run(&["admin", "label-keys"], &admin_env(&database, &redis, &prefix, &both));
    assert!(!labelled.success() && err.contains("exactly one"), "labelling is refused with two keys: {err}");

    assert_eq!(me(&b, &session).await, 200, "a session from before the rotation");
    let page = http.get(format!("{b}/password/reset/{link_token}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "a link from before the rotation");
    let reset = json!({"password": "New-Zeppelin-77", "email": "rot.ciam@example.com",
                       "email_otp_token": otp_token, "email_otp": code});
    assert_eq!(ciam(&b, "/reset_user_password", reset).await.unwrap().status(), StatusCode::OK, "a code and a secret");
    login(&b, admin.client_id.as_str(), admin.client_secret.expose()).await;
    let redeemed =
        http.post(format!("{b}/password/reset")).json(&json!({"token": link_token, "password": "Tr4vel-by-Zeppelin"}));
    assert_eq!(redeemed.send().await.unwrap().status(), StatusCode::OK);

    // Used secrets were sealed again under the new key; the unused one still holds the old
    // key back, and without the old key it no longer verifies.
    let status = key_status(&database, &redis, &prefix, &both);
    assert_eq!(entry(&status, &new_id)["api_credentials"], 1, "{status}");
    assert_eq!(entry(&status, &new_id)["clients"], 1, "{status}");
    assert_eq!(entry(&status, &old_id)["reset_links"], 0, "{status}");
    assert_eq!(entry(&status, &old_id)["removable"], false, "the spare credential is unlabelled: {status}");
    let (c, _) = serve(&database, &redis, keyed(&[&new], &prefix, &sink)).await;
    let early = http
        .post(format!("{c}/api/4.0/login"))
        .form(&[("client_id", spare.client_id.as_str()), ("client_secret", spare.client_secret.expose())]);
    assert_ne!(
        early.send().await.unwrap().status(),
        StatusCode::OK,
        "dropped too early, the old key takes the spare credential with it"
    );

    login(&b, spare.client_id.as_str(), spare.client_secret.expose()).await;
    let status = key_status(&database, &redis, &prefix, &both);
    assert_eq!(status["unlabelled"], Value::Null, "{status}");
    assert_eq!(entry(&status, &old_id)["removable"], true, "{status}");
    assert_eq!(entry(&status, &new_id)["api_credentials"], 2, "{status}");

    // The old key gone: every credential and the client still work.
    login(&c, admin.client_id.as_str(), admin.client_secret.expose()).await;
    login(&c, spare.client_id.as_str(), spare.client_secret.expose()).await;
    let sent =
        ciam(&c, "/otp/send", json!({"usage": "reset_password", "email": "rot.ciam@example.com"})).await.unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
}

async fn sqlx_exec(url: &str, sql: &str, arg: &str) {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    assert_eq!(sqlx::query(sql).bind(arg).execute(&mut conn).await.unwrap().rows_affected(), 1);
}
