//! A real throwaway PgBouncer in transaction mode in front of the shared PostgreSQL.

use std::net::{Ipv4Addr, TcpStream};
use std::str::FromStr as _;
use std::time::Duration;

use resetd_test_support::pgbouncer::PgBouncer;
use resetd_test_support::shared_postgres_url;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};

/// The options of a client PgBouncer 1.18 accepts: sqlx's `extra_float_digits` left out.
fn options(url: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(url).expect("a URL").extra_float_digits(None)
}

#[tokio::test]
async fn any_database_of_the_server_answers_through_it_in_transaction_mode_until_dropped() {
    let bouncer = PgBouncer::start(&shared_postgres_url());
    let port = bouncer.port();
    assert_eq!(bouncer.url("postgres"), format!("postgres://postgres@127.0.0.1:{port}/postgres"));
    let dir = bouncer.dir().to_path_buf();
    let mut conn = options(&bouncer.url("template1")).connect().await.expect("connecting through PgBouncer");
    let mut tx = conn.begin().await.expect("begin");
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&mut *tx).await.expect("select");
    assert_eq!(db, "template1");
    tx.commit().await.expect("commit");

    let refused = PgConnectOptions::from_str(&bouncer.url("postgres")).expect("a URL").connect().await;
    let refused = refused.expect_err("a stock PgBouncer refuses extra_float_digits");
    assert!(refused.to_string().contains("extra_float_digits"), "{refused}");
    assert!(bouncer.log().contains("process up"), "{}", bouncer.log());

    drop(conn);
    drop(bouncer);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    let addr = (Ipv4Addr::LOCALHOST, port).into();
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(), "PgBouncer still listens");
}
