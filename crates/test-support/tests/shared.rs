//! Shared servers: an unreachable URL in the environment is replaced by a throwaway server,
//! once per process, and `ensure_env` exports the result.
//!
//! One test only: it changes this process's environment.

use std::time::Duration;

use resetd_test_support::{ensure_env, free_port, shared_postgres_url, shared_redis_url};
use sqlx::{Connection as _, PgConnection};

#[test]
fn unreachable_urls_are_replaced_once_and_exported() {
    // Nothing listens on this port (it was free a moment ago).
    let closed = free_port();
    let dead = format!("redis://127.0.0.1:{closed}");
    std::env::set_var("RESETD_TEST_REDIS_URL", &dead);
    std::env::remove_var("RESETD_TEST_DATABASE_URL");
    std::env::set_var("DATABASE_URL", format!("postgres://postgres@127.0.0.1:{closed}/postgres"));

    let redis_url = shared_redis_url();
    assert_ne!(redis_url, dead);
    assert_eq!(shared_redis_url(), redis_url, "one server per process");
    let mut redis = redis::Client::open(redis_url.as_str())
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .expect("connecting to the shared Redis");
    let pong: String = redis::cmd("PING").query(&mut redis).expect("PING");
    assert_eq!(pong, "PONG");

    let database_url = shared_postgres_url();
    assert!(!database_url.contains(&format!(":{closed}/")), "{database_url}");
    assert_eq!(shared_postgres_url(), database_url, "one server per process");

    ensure_env();
    assert_eq!(std::env::var("DATABASE_URL").as_deref(), Ok(database_url.as_str()));
    assert_eq!(std::env::var("RESETD_TEST_DATABASE_URL").as_deref(), Ok(database_url.as_str()));
    assert_eq!(std::env::var("RESETD_TEST_REDIS_URL").as_deref(), Ok(redis_url.as_str()));

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let one: i32 = runtime.block_on(async {
        let mut conn = PgConnection::connect(&database_url).await.expect("connecting to the shared PostgreSQL");
        sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await.expect("SELECT 1")
    });
    assert_eq!(one, 1);
}
