//! Throwaway Redis topologies: a [`RedisCluster`] of three masters and a [`RedisSentinel`]
//! group (a master, a replica and three sentinels), plus [`cli`] to talk to any of their nodes.
//!
//! Every `redis-server` (sentinels included) is its own child process with its own directory
//! `target/test-servers/<kind>-<pid>-<counter>-<nanos>/` (kinds `redis-cluster`, `redis-data`
//! and `redis-sentinel`) and its own reaper, exactly like [`crate::Redis`]; dropping the
//! topology kills every process and removes every directory. Nothing is persisted (`--save ""`,
//! no AOF). Every wait is bounded and panics with what it last saw and the logs' tails.

mod cluster;
mod node;
mod sentinel;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

pub use self::cluster::RedisCluster;
pub use self::sentinel::RedisSentinel;
use crate::free_port;
use crate::process::{find_program, kill_child, wait_child, wait_until};

/// How long one `redis-cli` call of [`cli`] may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `redis-cli -h 127.0.0.1 -p <port> <args...>` and returns its output without trailing
/// whitespace. Options go first (`["-c", "SET", "k", "v"]` follows cluster redirects). Output
/// is redis-cli's raw format (stdout is not a terminal): one line per array element, and an
/// error reply is returned as text (`MOVED 866 127.0.0.1:40001`), not a panic.
///
/// # Panics
///
/// If `redis-cli` is missing (one line naming the Debian package), fails (e.g. nothing listens
/// on `port`) or takes more than 10 s.
#[must_use]
pub fn cli(port: u16, args: &[&str]) -> String {
    try_cli(port, args).unwrap_or_else(|e| panic!("redis-cli -p {port} {}: {e}", args.join(" ")))
}

/// [`cli`], with its failure as an error.
fn try_cli(port: u16, args: &[&str]) -> Result<String, String> {
    let mut all: Vec<OsString> = vec!["-h".into(), "127.0.0.1".into(), "-p".into(), port.to_string().into()];
    all.extend(args.iter().map(OsString::from));
    run_cli(&all, CLI_TIMEOUT)
}

/// Runs `redis-cli <args...>` for at most `timeout`; its stdout (trailing whitespace removed)
/// if it exits with 0, else what went wrong (with its stderr and stdout).
fn run_cli(args: &[OsString], timeout: Duration) -> Result<String, String> {
    let mut child = Command::new(cli_binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", cli_binary().display()))?;
    // Readers in threads, so a large reply cannot fill a pipe and block redis-cli; the end of
    // stdout (it exited) is awaited with the timeout.
    let (stdout_tx, stdout_rx) = mpsc::channel();
    let stdout = child.stdout.take();
    std::thread::spawn(move || {
        let _ = stdout_tx.send(read_all(stdout));
    });
    let stderr = child.stderr.take();
    let stderr = std::thread::spawn(move || read_all(stderr));
    let out = stdout_rx.recv_timeout(timeout).ok();
    let status = match out {
        Some(_) => wait_child(&mut child, timeout),
        None => None,
    };
    if status.is_none() {
        let _ = kill_child(&mut child);
    }
    let err = stderr.join().unwrap_or_default();
    let out = out.unwrap_or_default();
    match status {
        Some(status) if status.success() => Ok(out.trim_end().to_owned()),
        Some(status) => Err(format!("redis-cli {status}: {}{}", err.trim_end(), out.trim_end())),
        None => Err(format!("redis-cli took more than {timeout:?} and was killed")),
    }
}

fn read_all(source: Option<impl std::io::Read>) -> String {
    let mut bytes = Vec::new();
    if let Some(mut source) = source {
        let _ = source.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn cli_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        find_program("redis-cli", &["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"])
            .unwrap_or_else(|| panic!("redis-cli not found: install the Debian package redis-tools"))
    })
}

/// Asks `check` until it succeeds or `timeout` has passed: what it answered last.
fn poll<T>(timeout: Duration, mut check: impl FnMut() -> Result<T, String>) -> Result<T, String> {
    let mut last = Err("never asked".to_owned());
    wait_until(timeout, || {
        last = check();
        last.is_ok()
    });
    last
}

/// The value of `field` in an `INFO` reply (`field:value` lines).
fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|line| line.trim_end().strip_prefix(field)?.strip_prefix(':'))
}

/// A free port of 127.0.0.1 that is none of `taken`.
fn port_not_in(taken: &[u16]) -> u16 {
    loop {
        let port = free_port();
        if !taken.contains(&port) {
            return port;
        }
    }
}

/// `redis://127.0.0.1:<port>` for every port, comma-separated.
fn urls(ports: &[u16]) -> String {
    ports.iter().map(|port| format!("redis://127.0.0.1:{port}")).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_are_found_by_whole_name() {
        let info = "# Replication\r\nrole:slave\r\nmaster_port:6380\r\nmaster_link_status:up\r\n";
        assert_eq!(info_field(info, "role"), Some("slave"));
        assert_eq!(info_field(info, "master_port"), Some("6380"));
        assert_eq!(info_field(info, "master"), None);
        assert_eq!(info_field(info, "connected_slaves"), None);
    }

    #[test]
    fn urls_are_comma_separated() {
        assert_eq!(urls(&[1, 2]), "redis://127.0.0.1:1,redis://127.0.0.1:2");
    }

    #[test]
    fn cli_failures_are_errors() {
        let port = free_port(); // nothing listens there
        let err = try_cli(port, &["PING"]).expect_err("nothing listens");
        assert!(err.contains("Could not connect"), "{err}");
    }
}
