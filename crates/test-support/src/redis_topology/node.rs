//! One `redis-server` process of a topology (a data node or a sentinel), held as a child
//! process: its own state directory, reaper, log and pid file.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::process::{
    kill_child, kill_pid_file_script, log_file, spawn_reaper, state_dir, tail, wait_until, write_pid_file,
};
use crate::redis::{answers_ping, server_binary};
use rustix::process::Signal;

/// How long a start may take; a start retries a port taken meanwhile (with a fresh one) and a
/// restart a still-busy port (the same one) for as long.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` on 127.0.0.1; dropping it kills it and removes its directory.
#[derive(Debug)]
pub(super) struct Node {
    dir: PathBuf,
    port: u16,
    /// The command line after the program, the same for every (re)start.
    args: Vec<OsString>,
    child: Option<Child>,
    /// Whether it is stopped by [`Node::freeze`].
    frozen: bool,
}

impl Node {
    /// Starts `redis-server <args(dir, port)>` in a new `state_dir(kind)` on the port `port()`
    /// picks, waiting (at most 10 s) until it answers PING. A start that exits at once (most
    /// likely a port taken since it was picked) is retried with new ports.
    ///
    /// # Panics
    ///
    /// If it does not answer PING by then (with the log's tail).
    pub(super) fn start(
        kind: &str,
        mut port: impl FnMut() -> u16,
        mut args: impl FnMut(&Path, u16) -> Vec<OsString>,
    ) -> Self {
        let _ = server_binary();
        let mut node = Self { dir: state_dir(kind), port: 0, args: Vec::new(), child: None, frozen: false };
        spawn_reaper(&node.dir, &kill_pid_file_script("redis.pid"));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            node.port = port();
            node.args = args(&node.dir, node.port);
            match node.spawn_and_wait(deadline) {
                Ok(()) => return node,
                Err(Some(_)) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                Err(status) => node.start_failed(status),
            }
        }
    }

    /// The TCP port (the same across restarts).
    pub(super) fn port(&self) -> u16 {
        self.port
    }

    /// Whether the process runs (it may still have exited by itself since).
    pub(super) fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILLs the process and reaps it; a no-op if it is not running.
    pub(super) fn kill(&mut self) {
        self.frozen = false;
        if let Some(mut child) = self.child.take() {
            let _ = kill_child(&mut child);
        }
    }

    /// Freezes (`true`, SIGSTOP) or thaws (`false`, SIGCONT) the process: its connections stay
    /// open and nothing answers while frozen. A no-op if it is not running.
    pub(super) fn freeze(&mut self, frozen: bool) {
        if let Some(child) = &mut self.child {
            let signal = if frozen { Signal::STOP } else { Signal::CONT };
            crate::process::signal_child(child, signal);
            self.frozen = frozen;
        }
    }

    /// Whether it runs and is not frozen.
    pub(super) fn answers(&self) -> bool {
        self.is_running() && !self.frozen
    }

    /// Starts the process again with the same port and command line (a running one is killed
    /// first), retrying a still-busy port for up to 10 s, and waits until it answers PING.
    ///
    /// # Panics
    ///
    /// If it does not answer PING by then (with the log's tail).
    pub(super) fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.spawn_and_wait(deadline) {
                Ok(()) => return,
                Err(Some(_)) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                Err(status) => self.start_failed(status),
            }
        }
    }

    /// The last `lines` lines of the log, for panic messages.
    pub(super) fn log_tail(&self, lines: usize) -> String {
        tail(&self.log(), lines)
    }

    fn log(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    /// Spawns the process and waits until it answers PING (`Ok`), exits (`Err(Some)`) or
    /// `deadline` passes (`Err(None)`, the process killed).
    fn spawn_and_wait(&mut self, deadline: Instant) -> Result<(), Option<ExitStatus>> {
        let log = self.log();
        let mut child = Command::new(server_binary())
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log_file(&log))
            .stderr(log_file(&log))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", server_binary().display()));
        write_pid_file(&self.dir.join("redis.pid"), child.id());
        let mut exited = None;
        let up = wait_until(deadline.saturating_duration_since(Instant::now()), || {
            exited = child.try_wait().ok().flatten();
            exited.is_some() || answers_ping(self.port)
        });
        match exited {
            None if up => {
                self.child = Some(child);
                Ok(())
            }
            Some(status) => Err(Some(status)),
            None => {
                let _ = kill_child(&mut child);
                Err(None)
            }
        }
    }

    fn start_failed(&self, status: Option<ExitStatus>) -> ! {
        let args: Vec<_> = self.args.iter().map(|arg| arg.to_string_lossy()).collect();
        panic!(
            "redis-server {} on port {} did not start ({status:?})\n{}",
            args.join(" "),
            self.port,
            self.log_tail(20)
        )
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The arguments every data node gets: no persistence, 127.0.0.1 only, its directory as
/// working directory, and full syncs without the 5 s diskless-sync delay (which would hold up
/// a new replica).
pub(super) fn data_args(dir: &Path, port: u16) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["--port", &port.to_string(), "--bind", "127.0.0.1", "--protected-mode", "no"]
        .iter()
        .map(OsString::from)
        .collect();
    args.extend(["--save", "", "--appendonly", "no", "--daemonize", "no"].map(OsString::from));
    args.extend(["--repl-diskless-sync-delay", "0", "--dir"].map(OsString::from));
    args.push(dir.as_os_str().to_owned());
    args
}
