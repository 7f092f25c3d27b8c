//! A throwaway `redis-server`.

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::free_port;
use crate::process::{
    find_program, kill_child, kill_pid_file_script, localhost, log_file, signal_child, spawn_reaper, state_dir, tail,
    wait_child, write_pid_file,
};

/// How long a start may take; a restart retries a busy port for as long.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A throwaway `redis-server` on 127.0.0.1 without persistence, held as a child process.
///
/// Dropping it kills the server and removes its directory; a reaper does the same if the test
/// process dies first.
#[derive(Debug)]
pub struct Redis {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Redis {
    /// Starts a server on a free port, waiting (at most 10 s) until it answers PING.
    ///
    /// # Panics
    ///
    /// If `redis-server` is missing (one line naming the Debian package) or does not start.
    #[must_use]
    pub fn start() -> Self {
        let _ = binary();
        let mut redis = Self { dir: state_dir("redis"), port: free_port(), child: None };
        spawn_reaper(&redis.dir, &kill_pid_file_script("redis.pid"));
        redis.spawn_and_wait();
        redis
    }

    /// `redis://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The TCP port (the same across restarts).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's directory (its log); removed on drop.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's pid, while it runs.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILLs the server (also a paused one) and reaps it; a no-op if it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill_child(&mut child);
        }
    }

    /// Stops the server with SIGTERM and waits for it (SIGKILL after 10 s); a no-op if it is
    /// not running.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_child(&mut child, Signal::TERM);
            signal_child(&mut child, Signal::CONT); // a paused server would never see the TERM
            if wait_child(&mut child, Duration::from_secs(10)).is_none() {
                let _ = kill_child(&mut child);
            }
        }
    }

    /// Freezes the server (SIGSTOP): connections open, nothing answers until
    /// [`Redis::resume`].
    ///
    /// # Panics
    ///
    /// If the server is not running.
    pub fn pause(&self) {
        let child = self.child.as_ref();
        let pid = child.unwrap_or_else(|| panic!("pausing Redis on port {}: it is not running", self.port)).id();
        crate::process::signal(pid, Signal::STOP).unwrap_or_else(|e| panic!("SIGSTOP to Redis ({pid}): {e}"));
    }

    /// Undoes [`Redis::pause`] (SIGCONT); a no-op if the server is not running.
    pub fn resume(&self) {
        if let Some(child) = &self.child {
            let _ = crate::process::signal(child.id(), Signal::CONT);
        }
    }

    /// Starts the server again on the same port (after [`Redis::kill`] or [`Redis::stop`]; a
    /// running server is stopped first), retrying a still-busy port for up to 10 s.
    ///
    /// # Panics
    ///
    /// If it does not answer PING by then (with the log's tail).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn_and_wait();
    }

    fn spawn_and_wait(&mut self) {
        let log = self.dir.join("redis.log");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let mut child = self.spawn(&log);
            write_pid_file(&self.dir.join("redis.pid"), child.id());
            let mut exited = None;
            let up = crate::process::wait_until(deadline.saturating_duration_since(Instant::now()), || {
                exited = child.try_wait().ok().flatten();
                exited.is_some() || ping(self.port)
            });
            match exited {
                None if up => {
                    self.child = Some(child);
                    return;
                }
                // Exited at once, most likely the port is not free yet (a restart): try again.
                Some(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                _ => {
                    let status = kill_child(&mut child);
                    panic!("Redis on port {} did not start ({status:?})\n{}", self.port, tail(&log, 20));
                }
            }
        }
    }

    fn spawn(&self, log: &Path) -> Child {
        let mut command = Command::new(binary());
        command.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
        command.args(["--daemonize", "no", "--protected-mode", "no", "--dir"]).arg(&self.dir);
        command.stdin(Stdio::null()).stdout(log_file(log)).stderr(log_file(log));
        command.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", binary().display()))
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Whether a Redis at 127.0.0.1:`port` answers PING within 200 ms.
fn ping(port: u16) -> bool {
    let timeout = Duration::from_millis(200);
    let Ok(mut stream) = TcpStream::connect_timeout(&localhost(port), timeout) else {
        return false;
    };
    let mut answer = [0_u8; 5];
    stream.set_read_timeout(Some(timeout)).is_ok()
        && stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG"
}

fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        find_program("redis-server", &["/usr/bin/redis-server", "/usr/local/bin/redis-server"])
            .unwrap_or_else(|| panic!("redis-server not found: install the Debian package redis-server"))
    })
}

/// The `redis-server` program, for [`crate::redis_topology`]; panics with one line naming the
/// Debian package if it is missing.
pub(crate) fn server_binary() -> &'static Path {
    binary()
}

/// Whether a Redis (or a Sentinel) at 127.0.0.1:`port` answers PING within 200 ms.
pub(crate) fn answers_ping(port: u16) -> bool {
    ping(port)
}
