//! A real throwaway PostgreSQL: queries, crash recovery, pause and resume, cleanup.

use std::time::Duration;

use resetd_test_support::Postgres;
use sqlx::{Connection as _, PgConnection};

async fn connect(postgres: &Postgres) -> PgConnection {
    PgConnection::connect(&postgres.url()).await.expect("connecting to the throwaway PostgreSQL")
}

async fn select_one(conn: &mut PgConnection) -> i32 {
    sqlx::query_scalar("SELECT 1").fetch_one(conn).await.expect("SELECT 1")
}

#[tokio::test]
async fn a_committed_row_survives_a_crash_and_a_restart_on_the_same_port() {
    let mut postgres = Postgres::start();
    let port = postgres.port();
    assert_eq!(postgres.url(), format!("postgres://postgres@127.0.0.1:{port}/postgres"));
    let mut conn = connect(&postgres).await;
    assert_eq!(select_one(&mut conn).await, 1);
    sqlx::query("CREATE TABLE survivors (name text NOT NULL)").execute(&mut conn).await.expect("create");
    sqlx::query("INSERT INTO survivors VALUES ('committed')").execute(&mut conn).await.expect("insert");
    let max: String = sqlx::query_scalar("SHOW max_connections").fetch_one(&mut conn).await.expect("show");
    assert_eq!(max, "200");

    postgres.crash();
    assert!(!postgres.is_running());
    assert!(PgConnection::connect(&postgres.url()).await.is_err(), "a crashed server still answers");

    postgres.restart();
    assert_eq!(postgres.port(), port);
    let mut conn = connect(&postgres).await;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM survivors").fetch_all(&mut conn).await.expect("select");
    assert_eq!(names, ["committed"]);
    assert!(postgres.log().contains("database system was interrupted"), "{}", postgres.log());
    conn.close().await.expect("close");

    postgres.stop();
    assert!(!postgres.is_running());
    postgres.restart();
    assert_eq!(select_one(&mut connect(&postgres).await).await, 1);
}

#[tokio::test]
async fn a_paused_server_accepts_connections_but_answers_nothing_until_resumed() {
    let postgres = Postgres::start();
    let mut before = connect(&postgres).await;
    assert_eq!(select_one(&mut before).await, 1);

    postgres.pause();
    // The backend of an open connection is frozen too, not only the postmaster.
    let query = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&mut before);
    assert!(tokio::time::timeout(Duration::from_secs(1), query).await.is_err(), "a paused backend answered");
    let fresh = PgConnection::connect(&postgres.url());
    assert!(tokio::time::timeout(Duration::from_secs(1), fresh).await.is_err(), "a paused postmaster answered");
    let tcp = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], postgres.port()).into(), Duration::from_secs(1));
    assert!(tcp.is_ok(), "the kernel should still accept the connection: {tcp:?}");

    postgres.resume();
    let mut after = tokio::time::timeout(Duration::from_secs(10), connect(&postgres)).await.expect("after resume");
    assert_eq!(select_one(&mut after).await, 1);
}

#[test]
fn dropping_the_server_stops_it_and_removes_its_directory() {
    let postgres = Postgres::start();
    let dir = postgres.dir().to_path_buf();
    let port = postgres.port();
    assert!(dir.join("data").join("PG_VERSION").is_file());
    assert!(dir.starts_with(resetd_test_support::target_dir().join("test-servers")), "{}", dir.display());
    drop(postgres);
    assert!(!dir.exists(), "{} is still there", dir.display());
    let addr = ([127, 0, 0, 1], port).into();
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(), "port {port} still answers");
}

#[test]
fn a_paused_server_is_dropped_without_hanging() {
    let postgres = Postgres::start();
    postgres.pause();
    let started = std::time::Instant::now();
    drop(postgres);
    assert!(started.elapsed() < Duration::from_secs(10), "drop took {:?}", started.elapsed());
}
