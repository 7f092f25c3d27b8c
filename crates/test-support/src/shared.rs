//! One PostgreSQL and one Redis for a whole test process.

use std::net::{TcpStream, ToSocketAddrs as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use url::Url;

use crate::{Postgres, Redis};

/// How long an address from the environment has to accept a TCP connection.
const REACHABLE_TIMEOUT: Duration = Duration::from_secs(1);

/// A PostgreSQL URL for the whole test process: `RESETD_TEST_DATABASE_URL`, else
/// `DATABASE_URL`, if set and something accepts a connection at its address within ~1 s;
/// otherwise one throwaway [`Postgres`] started on first use, kept for the process and cleaned
/// up by its reaper once the process is gone. The answer is decided once per process.
///
/// # Panics
///
/// If a server has to be started and cannot be.
#[must_use]
pub fn shared_postgres_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    URL.get_or_init(|| {
        from_env(&["RESETD_TEST_DATABASE_URL", "DATABASE_URL"], 5432)
            .unwrap_or_else(|| SERVER.get_or_init(Postgres::start).url())
    })
    .clone()
}

/// A Redis URL for the whole test process: `RESETD_TEST_REDIS_URL` if set and reachable
/// (as for [`shared_postgres_url`]), else one throwaway [`Redis`] kept for the process.
///
/// # Panics
///
/// If a server has to be started and cannot be.
#[must_use]
pub fn shared_redis_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    static SERVER: OnceLock<Redis> = OnceLock::new();
    URL.get_or_init(|| {
        from_env(&["RESETD_TEST_REDIS_URL"], 6379).unwrap_or_else(|| SERVER.get_or_init(Redis::start).url())
    })
    .clone()
}

/// Sets `DATABASE_URL` and `RESETD_TEST_DATABASE_URL` to [`shared_postgres_url`] and
/// `RESETD_TEST_REDIS_URL` to [`shared_redis_url`] in this process's environment (once), so
/// that code reading the variables, such as `#[sqlx::test]`, uses the same servers.
///
/// Call it before anything reads those variables, and preferably before other threads run:
/// changing the environment races with threads reading it.
pub fn ensure_env() {
    static DONE: Once = Once::new();
    DONE.call_once(|| {
        let database = shared_postgres_url();
        let redis = shared_redis_url();
        std::env::set_var("DATABASE_URL", &database);
        std::env::set_var("RESETD_TEST_DATABASE_URL", &database);
        std::env::set_var("RESETD_TEST_REDIS_URL", &redis);
    });
}

/// The first of `vars` that is set and whose server accepts a connection.
fn from_env(vars: &[&str], default_port: u16) -> Option<String> {
    vars.iter().filter_map(|var| std::env::var(var).ok()).find(|url| !url.is_empty() && reachable(url, default_port))
}

/// Whether something accepts a connection at `url`'s address within ~1 s: its TCP host and
/// port, or (libpq style, `?host=/dir`) the Unix socket `/dir/.s.PGSQL.<port>`.
fn reachable(url: &str, default_port: u16) -> bool {
    let Ok(url) = Url::parse(url) else {
        return false;
    };
    let port = url.port().unwrap_or(default_port);
    let socket_dir = url.query_pairs().find(|(key, _)| key == "host").map(|(_, value)| value.into_owned());
    if let Some(dir) = socket_dir.filter(|dir| dir.starts_with('/')) {
        return UnixStream::connect(Path::new(&dir).join(format!(".s.PGSQL.{port}"))).is_ok();
    }
    let Some(host) = url.host_str().filter(|host| !host.is_empty()) else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let deadline = Instant::now() + REACHABLE_TIMEOUT;
    let Ok(addrs) = (host, port).to_socket_addrs() else {
        return false;
    };
    addrs.into_iter().any(|addr| {
        let left = deadline.saturating_duration_since(Instant::now());
        !left.is_zero() && TcpStream::connect_timeout(&addr, left).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpListener};

    use super::reachable;

    #[test]
    fn a_listening_address_is_reachable_and_a_closed_one_is_not() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        assert!(reachable(&format!("postgres://u:p@127.0.0.1:{port}/db"), 5432));
        assert!(reachable(&format!("redis://localhost:{port}"), 6379));
        drop(listener);
        assert!(!reachable(&format!("postgres://u@127.0.0.1:{port}/db"), 5432));
        assert!(!reachable("not a url", 5432));
        assert!(!reachable("postgres:///db?host=/nonexistent", 5432));
    }
}
