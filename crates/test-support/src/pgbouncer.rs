//! A throwaway `pgbouncer` in transaction mode, in front of a PostgreSQL.
//!
//! Its configuration is PgBouncer's stock one but for what a test needs: `pool_mode =
//! transaction`, `auth_type = trust` (the user of the PostgreSQL URL, with its password for the
//! server login, is the only entry of the `auth_file`), a small server pool
//! ([`PgBouncer::POOL_SIZE`] per database and user, so clients share servers), no Unix socket,
//! and `[databases] * = host=… port=…` so that every database name of that server works. No
//! `ignore_startup_parameters`: a client that sends a startup parameter PgBouncer 1.18 does
//! not track (sqlx sends `extra_float_digits` unless told not to) is refused, as a stock
//! PgBouncer refuses it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use url::Url;

use crate::free_port;
use crate::process::{
    find_program, is_root, kill_child, kill_pid_file_script, localhost, log_file, read_lossy, spawn_reaper, state_dir,
    tail, tcp_accepts, wait_until, write_pid_file,
};

/// How long a start may take; a busy port is retried for as long.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A throwaway `pgbouncer` on a free port of 127.0.0.1 in transaction mode, held as a child
/// process.
///
/// Dropping it kills PgBouncer and removes its directory; a reaper does the same if the test
/// process dies first. PgBouncer refuses to run as root: as root it is started with `user =
/// postgres` and drops to that user itself.
#[derive(Debug)]
pub struct PgBouncer {
    dir: PathBuf,
    port: u16,
    user: String,
    child: Option<Child>,
}

impl PgBouncer {
    /// Server connections per database and user (`default_pool_size`).
    pub const POOL_SIZE: u32 = 4;

    /// Starts PgBouncer in front of the server of `postgres_url` (its host, port, user and
    /// password; the database part does not matter), waiting (at most 10 s) until it accepts
    /// connections.
    ///
    /// # Panics
    ///
    /// If `pgbouncer` is missing (one line naming the Debian package), `postgres_url` is not a
    /// URL, or PgBouncer does not start (with its log's tail).
    #[must_use]
    pub fn start(postgres_url: &str) -> Self {
        let _ = binary();
        let server = Url::parse(postgres_url).unwrap_or_else(|e| panic!("{postgres_url:?} is not a URL: {e}"));
        let user = match server.username() {
            "" => "postgres".to_owned(),
            name => decode(name),
        };
        let mut bouncer = Self { dir: state_dir("pgbouncer"), port: free_port(), user, child: None };
        spawn_reaper(&bouncer.dir, &kill_pid_file_script("pgbouncer.pid"));
        let password = server.password().map(decode).unwrap_or_default();
        let users = format!("{} {}\n", quoted(&bouncer.user), quoted(&password));
        write(&bouncer.dir.join("users.txt"), &users);
        bouncer.spawn_and_wait(&server);
        bouncer
    }

    /// `postgres://<user>@127.0.0.1:<port>/<database>`: `database` on the server, through
    /// PgBouncer.
    #[must_use]
    pub fn url(&self, database: &str) -> String {
        let mut url = Url::parse("postgres://127.0.0.1/").unwrap_or_else(|e| panic!("a constant URL: {e}"));
        // Cannot fail: the URL has a host, and the port is a number.
        let _ = url.set_username(&self.user);
        let _ = url.set_port(Some(self.port));
        url.set_path(database);
        url.to_string()
    }

    /// The TCP port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// PgBouncer's directory (`pgbouncer.ini`, its log); removed on drop.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// PgBouncer's log so far.
    #[must_use]
    pub fn log(&self) -> String {
        read_lossy(&self.dir.join("pgbouncer.log"))
    }

    fn spawn_and_wait(&mut self, server: &Url) {
        let (ini, log) = (self.dir.join("pgbouncer.ini"), self.dir.join("pgbouncer.log"));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            write(&ini, &self.config(server));
            let mut command = Command::new(binary());
            command.arg(&ini).current_dir(&self.dir);
            command.stdin(Stdio::null()).stdout(log_file(&log)).stderr(log_file(&log));
            let mut child = command.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", binary().display()));
            write_pid_file(&self.dir.join("pgbouncer.pid"), child.id());
            let mut exited = None;
            let up = wait_until(deadline.saturating_duration_since(Instant::now()), || {
                exited = child.try_wait().ok().flatten();
                exited.is_some() || tcp_accepts(localhost(self.port), Duration::from_millis(200))
            });
            match exited {
                None if up => {
                    self.child = Some(child);
                    return;
                }
                // Exited at once, most likely because the port was taken meanwhile: another.
                Some(_) if Instant::now() < deadline => self.port = free_port(),
                _ => {
                    let status = kill_child(&mut child);
                    panic!("PgBouncer on port {} did not start ({status:?})\n{}", self.port, tail(&log, 20));
                }
            }
        }
    }

    /// `pgbouncer.ini` for the server of `server`.
    fn config(&self, server: &Url) -> String {
        // libpq style `?host=/dir` names a Unix socket directory.
        let socket = server.query_pairs().find(|(k, v)| k == "host" && v.starts_with('/')).map(|(_, v)| v.into_owned());
        let host = socket.or_else(|| server.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()));
        let host = host.filter(|h| !h.is_empty()).unwrap_or_else(|| "127.0.0.1".to_owned());
        let run_as = if is_root() {
            postgres_user_exists();
            "user = postgres\n"
        } else {
            ""
        };
        format!(
            "[databases]\n\
             * = host={host} port={server_port}\n\
             \n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = trust\n\
             auth_file = {auth_file}\n\
             pool_mode = transaction\n\
             default_pool_size = {pool_size}\n\
             max_client_conn = 200\n\
             {run_as}",
            server_port = server.port().unwrap_or(5432),
            port = self.port,
            auth_file = self.dir.join("users.txt").display(),
            pool_size = Self::POOL_SIZE,
        )
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill_child(&mut child);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A percent-decoded URL part.
fn decode(part: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", part.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| part.to_owned(), |(_, v)| v.into_owned())
}

/// A string in an `auth_file`: in double quotes, a double quote doubled.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// As root, PgBouncer runs as `postgres`: that user must exist.
fn postgres_user_exists() {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    assert!(
        passwd.lines().any(|line| line.starts_with("postgres:")),
        "running as root, but there is no `postgres` user to run PgBouncer as: install the Debian package postgresql"
    );
}

fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        find_program("pgbouncer", &["/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer", "/usr/local/bin/pgbouncer"])
            .unwrap_or_else(|| panic!("pgbouncer not found: install the Debian package pgbouncer"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts_are_decoded_and_auth_file_strings_quoted() {
        assert_eq!(decode("p%40ss+w%3Ard"), "p@ss+w:rd");
        assert_eq!(quoted(r#"a"b"#), r#""a""b""#);
    }
}
