//! `scripts/smtp_sink.py`: an SMTP server that keeps every message as an `.eml` file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::process::{
    kill_child, kill_pid_file_script, log_file, read_lossy, signal_child, spawn_reaper, state_dir, tail, wait_child,
    wait_until, write_pid_file,
};
use crate::{python, workspace_root};

/// How long a start may take; a restart retries a still-busy port for as long.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// An SMTP sink on 127.0.0.1 (`scripts/smtp_sink.py` under [`python`]) that accepts every
/// message and keeps it as a raw `.eml` file.
///
/// Dropping it kills the sink and removes its directory; the sink also exits by itself when
/// the test process is gone, and a reaper removes the directory.
#[derive(Debug)]
pub struct SmtpSink {
    /// The sink's own directory (logs, pid file, `mail/`).
    home: PathBuf,
    /// Where the messages land.
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl SmtpSink {
    /// Starts the sink on a port the sink picks, waiting (at most 15 s) for its address.
    ///
    /// # Panics
    ///
    /// If Python or the script cannot be run, or the sink does not start.
    #[must_use]
    pub fn start() -> Self {
        let home = state_dir("smtp");
        let mut sink = Self { dir: home.join("mail"), home, port: 0, child: None };
        spawn_reaper(&sink.home, &kill_pid_file_script("smtp.pid"));
        sink.spawn_and_wait();
        sink
    }

    /// The SMTP port (the same across restarts).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder the messages land in.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every message received so far (raw `.eml` text), oldest first.
    #[must_use]
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<(u128, String, PathBuf)> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_str()?.to_owned();
                if name.starts_with('.') || !name.ends_with(".eml") {
                    return None; // a message still being written
                }
                let nanos = name.split('-').next()?.parse().ok()?;
                Some((nanos, name, entry.path()))
            })
            .collect();
        files.sort();
        files.iter().map(|(_, _, path)| read_lossy(path)).collect()
    }

    /// Stops the sink (SIGTERM, then SIGKILL after 5 s); the messages stay. A no-op if it is
    /// not running.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_child(&mut child, Signal::TERM);
            if wait_child(&mut child, Duration::from_secs(5)).is_none() {
                let _ = kill_child(&mut child);
            }
        }
    }

    /// Starts the sink again on the same port (a running sink is stopped first).
    ///
    /// # Panics
    ///
    /// If it does not start within 15 s.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn_and_wait();
    }

    fn spawn_and_wait(&mut self) {
        let out = self.home.join("stdout.log");
        let err = self.home.join("stderr.log");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let _ = fs::remove_file(&out);
            let mut child = self.spawn(&out, &err);
            write_pid_file(&self.home.join("smtp.pid"), child.id());
            let mut exited = None;
            let mut port = None;
            let _ = wait_until(deadline.saturating_duration_since(Instant::now()), || {
                port = listening_port(&read_lossy(&out));
                exited = child.try_wait().ok().flatten();
                port.is_some() || exited.is_some()
            });
            match (port, exited) {
                (Some(port), None) => {
                    self.port = port;
                    self.child = Some(child);
                    return;
                }
                // Exited at once, most likely the port is not free yet (a restart): try again.
                (_, Some(_)) if self.port != 0 && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => {
                    let status = kill_child(&mut child);
                    panic!("the SMTP sink did not start ({status:?})\n{}\n{}", tail(&out, 5), tail(&err, 20));
                }
            }
        }
    }

    fn spawn(&self, out: &Path, err: &Path) -> Child {
        let script = workspace_root().join("scripts").join("smtp_sink.py");
        let mut command = Command::new(python());
        command.arg(&script).args(["--host", "127.0.0.1", "--port", &self.port.to_string(), "--dir"]);
        command.arg(&self.dir).arg("--exit-with-parent");
        command.stdin(Stdio::null()).stdout(log_file(out)).stderr(log_file(err));
        command.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", script.display()))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill_child(&mut child);
        }
        let _ = fs::remove_dir_all(&self.home);
    }
}

/// The port in the sink's first line, `smtp sink listening on 127.0.0.1:<port>, writing to ...`.
fn listening_port(stdout: &str) -> Option<u16> {
    let (line, _) = stdout.split_once('\n')?; // a whole line, not one being written
    let (_, rest) = line.split_once("listening on ")?;
    let (_, port) = rest.split_once(':')?;
    port.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::listening_port;

    #[test]
    fn the_port_comes_from_the_first_line() {
        let line = "smtp sink listening on 127.0.0.1:40123, writing to /tmp/x\n";
        assert_eq!(listening_port(line), Some(40123));
        assert_eq!(listening_port("smtp sink listening on 127.0.0.1:"), None);
        assert_eq!(listening_port("smtp sink listening on 127.0.0.1:401"), None);
        assert_eq!(listening_port(""), None);
    }
}
