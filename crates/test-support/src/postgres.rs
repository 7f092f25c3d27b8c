//! A throwaway PostgreSQL cluster.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::free_port;
use crate::process::{
    alive, find_program, is_root, localhost, sh_quote, signal_tree, spawn_reaper, state_dir, tail, tcp_accepts,
    wait_until,
};

/// How long a start (or restart) may take before it panics.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// A Unix socket path is at most 107 bytes; beyond this directory length we go TCP-only.
const MAX_SOCKET_DIR_LEN: usize = 90;

/// A throwaway PostgreSQL cluster on 127.0.0.1 (superuser `postgres`, trust authentication).
///
/// Dropping it stops the server at once and removes its directory; a reaper does the same if
/// the test process dies first.
#[derive(Debug)]
pub struct Postgres {
    dir: PathBuf,
    data: PathBuf,
    log: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl Postgres {
    /// Creates a cluster in a new directory under `target/test-servers/` and starts it on a
    /// free port, waiting (at most 30 s) until it accepts connections.
    ///
    /// # Panics
    ///
    /// If the server programs are missing (one line naming the Debian package), or `initdb` or
    /// the start fails (with the server log's tail).
    #[must_use]
    pub fn start() -> Self {
        let bin = bindir().to_path_buf();
        let dir = state_dir("postgres");
        if is_root() {
            let (uid, gid) = postgres_user();
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("handing {} to the postgres user: {e}", dir.display()));
        }
        let postgres = Self { data: dir.join("data"), log: dir.join("server.log"), bin, port: free_port(), dir };
        spawn_reaper(&postgres.dir, &postgres.reaper_stop());
        postgres.initdb();
        postgres.configure();
        postgres.start_server();
        postgres
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The TCP port (the same across restarts).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's directory (data directory, log); removed on drop.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server log so far.
    #[must_use]
    pub fn log(&self) -> String {
        crate::process::read_lossy(&self.log)
    }

    /// Whether the postmaster is running (paused counts as running).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.postmaster_pid().is_some_and(alive)
    }

    /// Shuts down cleanly (`pg_ctl -m fast stop`); a no-op if it is not running.
    ///
    /// # Panics
    ///
    /// If `pg_ctl` fails.
    pub fn stop(&mut self) {
        self.pg_ctl_stop("fast");
    }

    /// Stops like a crash (`pg_ctl -m immediate stop`: no shutdown checkpoint; the next start
    /// runs crash recovery); a no-op if it is not running.
    ///
    /// # Panics
    ///
    /// If `pg_ctl` fails.
    pub fn crash(&mut self) {
        self.pg_ctl_stop("immediate");
    }

    /// Freezes the server (SIGSTOP to the postmaster and every backend and helper process):
    /// connections open, but nothing answers until [`Postgres::resume`].
    ///
    /// # Panics
    ///
    /// If the server is not running.
    pub fn pause(&self) {
        let pid = self.postmaster_pid().filter(|&pid| alive(pid));
        let pid = pid.unwrap_or_else(|| panic!("pausing PostgreSQL on port {}: it is not running", self.port));
        signal_tree(pid, Signal::STOP);
        // A backend forked just before the postmaster stopped may have been missed.
        signal_tree(pid, Signal::STOP);
    }

    /// Undoes [`Postgres::pause`]; a no-op if the server is not paused or not running.
    pub fn resume(&self) {
        if let Some(pid) = self.postmaster_pid() {
            signal_tree(pid, Signal::CONT);
        }
    }

    /// Starts the server again on the same port and data (after [`Postgres::stop`] or
    /// [`Postgres::crash`]; a running server is stopped first), waiting until it is ready.
    ///
    /// # Panics
    ///
    /// If the server does not come back within 30 s (with the log's tail).
    pub fn restart(&mut self) {
        self.stop();
        self.start_server();
    }

    fn initdb(&self) {
        let mut initdb = self.command("initdb");
        initdb.arg("-D").arg(&self.data);
        initdb.args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
        let out = run(&mut initdb);
        assert!(out.status.success(), "initdb {} failed: {}", self.data.display(), describe(&out));
    }

    fn configure(&self) {
        let dir = self.dir.to_string_lossy();
        let socket_dir = if dir.len() <= MAX_SOCKET_DIR_LEN { dir.replace('\'', "''") } else { String::new() };
        let settings = format!(
            "\n# resetd-test-support\n\
             listen_addresses = '127.0.0.1'\n\
             port = {port}\n\
             unix_socket_directories = '{socket_dir}'\n\
             max_connections = 200\n\
             shared_buffers = 32MB\n\
             fsync = off\n\
             synchronous_commit = on\n",
            port = self.port,
        );
        let conf = self.data.join("postgresql.conf");
        OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .unwrap_or_else(|e| panic!("writing {}: {e}", conf.display()));
    }

    fn start_server(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("-D").arg(&self.data).arg("-l").arg(&self.log);
        pg_ctl.args(["-w", "-t", &START_TIMEOUT.as_secs().to_string(), "start"]);
        let out = run(&mut pg_ctl);
        assert!(
            out.status.success(),
            "PostgreSQL on port {} did not start: {}\n{}",
            self.port,
            describe(&out),
            tail(&self.log, 30)
        );
        let ready = wait_until(deadline.saturating_duration_since(Instant::now()), || {
            tcp_accepts(localhost(self.port), Duration::from_secs(1)) && self.pg_isready()
        });
        assert!(ready, "PostgreSQL on port {} is not ready after 30 s\n{}", self.port, tail(&self.log, 30));
    }

    fn pg_isready(&self) -> bool {
        let Some(pg_isready) = Some(self.bin.join("pg_isready")).filter(|p| p.is_file()) else {
            return true; // the TCP check has to do
        };
        let mut check = Command::new(pg_isready);
        check.args(["-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-t", "1", "-p"]);
        check.arg(self.port.to_string()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        check.status().is_ok_and(|s| s.success())
    }

    fn pg_ctl_stop(&mut self, mode: &str) {
        if !self.is_running() {
            return;
        }
        self.resume(); // a stopped postmaster would never see pg_ctl's signal
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("-D").arg(&self.data).args(["-m", mode, "-w", "-t", "30", "stop"]);
        let out = run(&mut pg_ctl);
        assert!(
            out.status.success(),
            "pg_ctl -m {mode} stop on port {} failed: {}\n{}",
            self.port,
            describe(&out),
            tail(&self.log, 30)
        );
    }

    /// The postmaster's pid, from the first line of `postmaster.pid`.
    fn postmaster_pid(&self) -> Option<u32> {
        let text = fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// A PostgreSQL program, run as the `postgres` user when we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if is_root() {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", "postgres", "--"]).arg(path);
            runuser
        } else {
            Command::new(path)
        };
        // The postgres user may not be able to enter the test's working directory.
        command.current_dir(&self.dir).stdin(Stdio::null());
        command
    }

    /// The reaper's shell snippet: wake every process of the cluster, then stop it like a crash.
    fn reaper_stop(&self) -> String {
        let pg_ctl = sh_quote(&self.bin.join("pg_ctl").to_string_lossy());
        let as_postgres = if is_root() { "runuser -u postgres -- " } else { "" };
        format!(
            r#"p=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
if [ -n "$p" ]; then
    kill -CONT "$p" 2>/dev/null
    for s in /proc/[0-9]*/stat; do
        set -- $(cat "$s" 2>/dev/null)
        [ "$4" = "$p" ] && kill -CONT "$1" 2>/dev/null
    done
    cd "$dir" && {as_postgres}{pg_ctl} -D "$dir/data" -m immediate -w -t 20 stop >/dev/null 2>&1
fi"#
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(pid) = self.postmaster_pid().filter(|&pid| alive(pid)) {
            signal_tree(pid, Signal::CONT);
            let mut pg_ctl = self.command("pg_ctl");
            pg_ctl.arg("-D").arg(&self.data).args(["-m", "immediate", "-w", "-t", "10", "stop"]);
            let stopped = pg_ctl.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
            if !stopped {
                signal_tree(pid, Signal::KILL);
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The folder of `initdb`, `pg_ctl` and `postgres`: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/<version>/bin`, else `$PATH`.
fn bindir() -> &'static Path {
    static BINDIR: OnceLock<PathBuf> = OnceLock::new();
    BINDIR.get_or_init(|| {
        let from_pg_config = find_program("pg_config", &[])
            .and_then(|pg_config| Command::new(pg_config).arg("--bindir").output().ok())
            .filter(|out| out.status.success())
            .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .collect();
        debian.sort();
        let from_path = find_program("initdb", &[]).and_then(|p| p.parent().map(Path::to_path_buf));
        from_pg_config
            .into_iter()
            .chain(debian.into_iter().rev().map(|(_, bin)| bin))
            .chain(from_path)
            .find(|dir| ["initdb", "pg_ctl", "postgres"].iter().all(|p| dir.join(p).is_file()))
            .unwrap_or_else(|| {
                panic!("PostgreSQL server binaries not found (initdb, pg_ctl): install the Debian package postgresql")
            })
    })
}

/// The uid and gid of the `postgres` user, from `/etc/passwd`.
fn postgres_user() -> (u32, u32) {
    fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                ["postgres", _, uid, gid, ..] => Some((uid.parse().ok()?, gid.parse().ok()?)),
                _ => None,
            }
        })
        .unwrap_or_else(|| {
            panic!("running as root, but there is no `postgres` user to run PostgreSQL as: install the Debian package postgresql")
        })
}

fn run(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("running {command:?}: {e}"))
}

fn describe(out: &Output) -> String {
    format!("{}\n{}{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
