//! What every process test needs: a fresh database on the shared PostgreSQL, a Redis prefix,
//! the settings that match, and the use cases in this process for set-up.

use std::path::Path;

use resetd_server::{Profile, Settings};

pub const TOKEN_KEY: &str = "a-process-test-key-of-32-bytes-or-more!";

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
        ("RESETD__SECURITY__TOKEN_KEY", TOKEN_KEY),
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
    s.security.token_key = TOKEN_KEY.to_owned().into();
    s.argon2.memory_kib = 19_456;
    resetd_server::build_default(&s).await.unwrap().app
}
