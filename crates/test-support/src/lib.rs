//! Throwaway servers for resetd's tests: PostgreSQL, Redis, an SMTP sink and the resetd binary
//! itself, each a real process on a free port of 127.0.0.1.
//!
//! # What it starts, and where
//!
//! * [`Postgres`]: a fresh cluster (`initdb -U postgres --auth=trust -E UTF8 --no-sync`) started
//!   with `pg_ctl`, with `fsync=off` (tests simulate process crashes, not OS crashes, and
//!   `synchronous_commit` stays on), `max_connections=200` and its Unix socket in its own
//!   directory. It can be stopped, crashed (`pg_ctl -m immediate`, no shutdown checkpoint),
//!   paused (SIGSTOP of the postmaster and every backend: connections open, nothing answers),
//!   resumed and restarted on the same port and data.
//! * [`pgbouncer::PgBouncer`]: `pgbouncer` in transaction mode in front of a PostgreSQL (every
//!   database of that server through it, a pool of four server connections), held as a child
//!   process; as root it drops to the `postgres` user by itself (`user = postgres`).
//! * [`Redis`]: `redis-server` without persistence, held as a child process; it can be killed,
//!   stopped, paused, resumed and restarted on the same port.
//! * [`redis_topology::RedisCluster`] / [`redis_topology::RedisSentinel`]: a Redis Cluster of
//!   three masters (joined with `redis-cli --cluster create`; a node can be killed and restarted
//!   to rejoin), and a master with one replica watched by three sentinels (`redis-server
//!   --sentinel`) that can force a failover; every `redis-server` of them a child process with
//!   its own directory and reaper, as [`Redis`].
//! * [`SmtpSink`]: `scripts/smtp_sink.py` under the test virtualenv's Python ([`python`]), which
//!   stores every message it receives as an `.eml` file ([`SmtpSink::messages`]).
//! * [`ResetdProcess`]: the `resetd` binary as a separate process, for multi-process tests and
//!   for checking that it refuses to start ([`ResetdProcess::run_to_exit`]).
//! * [`shared_postgres_url`] / [`shared_redis_url`]: one server of each kind for the whole test
//!   process, unless the environment already names a reachable one; [`ensure_env`] exports them.
//!
//! Every server keeps its state (data, logs, pid files) in its own directory,
//! `target/test-servers/<kind>-<pid>-<counter>-<nanos>/` ([`target_dir`]), so parallel tests
//! and parallel test binaries never share anything by accident.
//!
//! # Cleanup
//!
//! `Drop` stops each server at once (no graceful shutdown) and removes its directory, also when
//! the test panicked. A test process can also die without dropping anything: a SIGKILL, a
//! `std::process::exit`, or a server kept in a `static` that never drops. So every server gets
//! a reaper: a detached `sh` loop in its own process group that polls the test process once a
//! second and, once it is gone, stops the server and removes the directory. The reaper ends by
//! itself as soon as the directory disappears (after a normal `Drop`), so it never touches a
//! process it does not own.
//!
//! # Running as root
//!
//! `initdb` and `postgres` refuse to run as root (a server compromised through SQL would own the
//! machine). When the tests run as root (containers, CI), the PostgreSQL programs therefore run
//! as the `postgres` system user through `runuser -u postgres --`, and the cluster's directory
//! is handed to that user; everything else runs as the current user.
//!
//! # Missing programs
//!
//! A missing server program panics at once with one line naming the Debian package to install
//! (`postgresql`, `redis-server`, `python3-venv`). Two things are fetched or built on demand,
//! once and under a file lock: `aiosmtpd` into `target/venv` ([`python`]), and the `resetd`
//! binary (`cargo build --bin resetd`) when it is not next to the test executable.
//!
//! The API is synchronous and bounded (every wait has a timeout): call it from plain tests or
//! from inside a tokio runtime alike.

#![warn(missing_docs)]

pub mod pgbouncer;
mod postgres;
mod process;
mod python;
mod redis;
pub mod redis_topology;
mod resetd;
mod shared;
mod smtp;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

pub use crate::postgres::Postgres;
pub use crate::python::python;
pub use crate::redis::Redis;
pub use crate::resetd::{signing_key_pem, ResetdProcess};
pub use crate::shared::{ensure_env, shared_postgres_url, shared_redis_url};
pub use crate::smtp::SmtpSink;

/// The workspace root (the folder of the workspace `Cargo.toml`, `config/` and `scripts/`).
#[must_use]
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().and_then(Path::parent).unwrap_or(manifest).to_path_buf()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` if set (a relative one is taken from the
/// workspace root), else `<workspace root>/target`.
#[must_use]
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}

/// A TCP port of 127.0.0.1 that was free a moment ago (bound to port 0, read, released).
///
/// # Panics
///
/// If no socket can be bound on 127.0.0.1.
#[must_use]
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("binding 127.0.0.1:0 to find a free port: {e}"));
    listener.local_addr().unwrap_or_else(|e| panic!("reading a bound port: {e}")).port()
}

/// A fresh token key for a test's resetd: 32 bytes from the OS, as hex. No key is a literal in
/// the repository (a test scans for them); production refuses the ones that once were.
///
/// # Panics
///
/// If `/dev/urandom` cannot be read.
#[must_use]
pub fn token_key() -> String {
    use std::io::Read as _;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .unwrap_or_else(|e| panic!("reading /dev/urandom: {e}"));
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_root_holds_the_workspace_manifest_and_config() {
        let root = workspace_root();
        assert!(root.join("Cargo.toml").is_file(), "{}", root.display());
        assert!(root.join("config").join("default.toml").is_file(), "{}", root.display());
    }

    #[test]
    fn the_target_dir_is_under_the_workspace_unless_cargo_says_otherwise() {
        let target = target_dir();
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => assert!(target.ends_with(dir)),
            _ => assert_eq!(target, workspace_root().join("target")),
        }
    }

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port();
        assert_ne!(port, 0);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port));
        assert!(listener.is_ok(), "port {port}: {listener:?}");
    }
}
