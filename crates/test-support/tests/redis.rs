//! A real throwaway Redis: commands, kill, stop, restart, pause and resume, cleanup.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::Duration;

use resetd_test_support::Redis;

fn connect(redis: &Redis) -> redis::Connection {
    let client = redis::Client::open(redis.url()).expect("redis url");
    let conn = client.get_connection_with_timeout(Duration::from_secs(2)).expect("connecting to Redis");
    conn.set_read_timeout(Some(Duration::from_secs(2))).expect("read timeout");
    conn
}

fn get(conn: &mut redis::Connection, key: &str) -> redis::RedisResult<Option<String>> {
    redis::cmd("GET").arg(key).query(conn)
}

fn refused(port: u16) -> bool {
    let addr = ([127, 0, 0, 1], port).into();
    matches!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)), Err(e) if e.kind() == ErrorKind::ConnectionRefused)
}

#[test]
fn set_get_kill_and_restart_on_the_same_port() {
    let mut redis = Redis::start();
    let port = redis.port();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}"));
    let mut conn = connect(&redis);
    redis::cmd("SET").arg("greeting").arg("hello").query::<()>(&mut conn).expect("SET");
    assert_eq!(get(&mut conn, "greeting").expect("GET").as_deref(), Some("hello"));

    redis.kill();
    assert!(redis.pid().is_none());
    assert!(refused(port), "a killed Redis still accepts connections on {port}");

    redis.restart();
    assert_eq!(redis.port(), port);
    let mut conn = connect(&redis);
    // No persistence: the restarted server is empty.
    assert_eq!(get(&mut conn, "greeting").expect("GET"), None);

    redis.stop();
    assert!(refused(port), "a stopped Redis still accepts connections on {port}");
    redis.restart();
    assert_eq!(get(&mut connect(&redis), "missing").expect("GET"), None);
}

#[test]
fn a_paused_server_times_out_until_resumed() {
    let redis = Redis::start();
    let mut conn = connect(&redis);
    redis::cmd("SET").arg("k").arg("v").query::<()>(&mut conn).expect("SET");

    redis.pause();
    conn.set_read_timeout(Some(Duration::from_millis(500))).expect("read timeout");
    // A signal (another test's child exiting) may interrupt the blocking read: that is not an
    // answer, so ask again (the server stays paused).
    let mut err = get(&mut conn, "k").expect_err("a paused Redis answered");
    for _ in 0..5 {
        if !err.to_string().contains("os error 4") {
            break;
        }
        err = get(&mut conn, "k").expect_err("a paused Redis answered");
    }
    assert!(err.is_timeout(), "expected a timeout, got {err:?}");

    redis.resume();
    assert_eq!(get(&mut connect(&redis), "k").expect("GET after resume").as_deref(), Some("v"));
}

#[test]
fn dropping_the_server_kills_it_and_removes_its_directory() {
    let redis = Redis::start();
    let dir = redis.dir().to_path_buf();
    let port = redis.port();
    assert!(dir.is_dir());
    redis.pause(); // a paused server must die as well
    drop(redis);
    assert!(!dir.exists(), "{} is still there", dir.display());
    assert!(refused(port), "port {port} still answers");
}
