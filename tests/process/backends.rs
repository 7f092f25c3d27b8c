//! What every process test needs: a fresh database on the shared PostgreSQL, a Redis prefix,
//! the settings that match, and the use cases in this process for set-up.

use std::path::Path;

use resetd_server::{Profile, Settings};

/// This test process's token key, generated.
pub static TOKEN_KEY: std::sync::LazyLock<String> = std::sync::LazyLock::new(resetd_test_support::token_key);

/// A fresh database on `server` (a PostgreSQL URL); its URL.
pub async fn fresh_database(server: &str) -> String {
    use sqlx::Connection as _;
    let name = resetd_ports::testkit::unique("resetd_proc_");
    let mut admin = sqlx::PgConnection::connect(server).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    let mut url = url::Url::parse(server).unwrap();
    url.set_path(&name);
    url.to_string()
}

/// The environment of a production resetd on these backends.
pub fn env(database: &str, redis: &str, prefix: &str) -> Vec<(String, String)> {
    [
        ("RESETD__DATABASE__URL", database),
        ("RESETD__REDIS__URL", redis),
        ("RESETD__REDIS__KEY_PREFIX", prefix),
        ("RESETD__SECURITY__TOKEN_KEY", TOKEN_KEY.as_str()),
        ("RESETD__ARGON2__MEMORY_KIB", "19456"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub fn as_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The use cases over the same stores, in this process (bootstrap: users, clients, keys).
pub async fn operator(database: &str, redis: &str, prefix: &str) -> resetd_app::App {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let mut s = Settings::load(&config, Profile::Dev).unwrap();
    s.database.url = database.to_owned().into();
    s.redis.url = redis.to_owned().into();
    s.redis.key_prefix = prefix.to_owned();
    s.security.token_key = TOKEN_KEY.clone().into();
    s.argon2.memory_kib = 19_456;
    resetd_server::build_default(&s).await.unwrap().app
}

/// Serves resetd in this process over `database` and `redis` (dev profile, so the test may set
/// what it likes), with `tweak` applied; the base URL and the use cases.
pub async fn serve(database: &str, redis: &str, tweak: impl FnOnce(&mut Settings)) -> (String, resetd_app::App) {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let mut s = Settings::load(&config, Profile::Dev).unwrap();
    s.database.url = database.to_owned().into();
    s.redis.url = redis.to_owned().into();
    s.redis.key_prefix = resetd_ports::testkit::unique("proc:") + ":";
    s.security.token_key = TOKEN_KEY.clone().into();
    s.argon2.memory_kib = 19_456;
    s.mail.enabled = false;
    s.sms.enabled = false;
    s.server.bind = "127.0.0.1:0".into();
    s.server.public_base_url = String::new();
    tweak(&mut s);
    let server = resetd_server::Application::build(s).await.unwrap();
    let (base, app) = (server.base_url().to_owned(), server.app().clone());
    tokio::spawn(server.run_until_stopped());
    (base, app)
}

/// Logs in over HTTP with an API credential; the access token.
pub async fn login(base: &str, id: &str, secret: &str) -> String {
    let form = [("client_id", id), ("client_secret", secret)];
    let r = reqwest::Client::new().post(format!("{base}/api/4.0/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

/// The status of `GET /api/4.0/user` as `token`.
pub async fn me(base: &str, token: &str) -> u16 {
    let r = reqwest::Client::new().get(format!("{base}/api/4.0/user")).bearer_auth(token).send().await;
    r.unwrap().status().as_u16()
}

/// A fresh reset link of user `id`, issued by the admin session `admin`; its token.
pub async fn link(base: &str, admin: &str, id: &str) -> String {
    let url = format!("{base}/api/4.0/users/{id}/credentials_email/password_reset?expires=true");
    let r = reqwest::Client::new().post(url).bearer_auth(admin).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    body["password_reset_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()
}
