//! Process plumbing shared by the servers: state directories, signals, the reaper, bounded
//! waits, logs and file locks.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::process::{Pid, Signal};

use crate::target_dir;

/// A new, empty `target/test-servers/<kind>-<pid>-<counter>-<nanos>/`.
pub(crate) fn state_dir(kind: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let name = format!("{kind}-{}-{counter}-{nanos}", std::process::id());
    let dir = target_dir().join("test-servers").join(name);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// Whether this process runs as root (then PostgreSQL runs as the `postgres` user).
pub(crate) fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Sends `sig` to `pid`.
pub(crate) fn signal(pid: u32, sig: Signal) -> io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("bad pid {pid}")))?;
    rustix::process::kill_process(pid, sig).map_err(io::Error::from)
}

/// Whether a process `pid` exists (zombies included).
pub(crate) fn alive(pid: u32) -> bool {
    i32::try_from(pid).ok().and_then(Pid::from_raw).is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok())
}

/// Every descendant of `pid` (children, their children...), from `/proc/<pid>/stat`.
pub(crate) fn descendants(pid: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(parent) = fs::read_to_string(entry.path().join("stat")).ok().as_deref().and_then(parent_of) {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(next) = queue.pop() {
        for &child in children.get(&next).map(Vec::as_slice).unwrap_or_default() {
            if !found.contains(&child) {
                found.push(child);
                queue.push(child);
            }
        }
    }
    found
}

/// The parent pid in a `/proc/<pid>/stat` line: `pid (comm) state ppid ...`, where `comm` may
/// hold spaces and parentheses (hence the last `)`).
fn parent_of(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Sends `sig` to `pid` and then to all its descendants (found after the first signal, so a
/// stopped parent cannot fork one we miss).
pub(crate) fn signal_tree(pid: u32, sig: Signal) {
    // Errors: a process that has just exited; nothing to do.
    let _ = signal(pid, sig);
    for child in descendants(pid) {
        let _ = signal(child, sig);
    }
}

/// Quotes `s` for a POSIX shell.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Starts the reaper of the server in `dir`: a detached shell loop that waits for this test
/// process to end and then runs `stop` (a shell snippet; `$dir` names the directory) and
/// removes `dir`. It ends by itself once `dir` is gone, i.e. after a normal `Drop`.
pub(crate) fn spawn_reaper(dir: &Path, stop: &str) {
    // The outer shell returns at once (we wait for it, so it leaves no zombie); the background
    // subshell is adopted by init and outlives us. Its own process group keeps a Ctrl-C of the
    // test's terminal from killing it before it has cleaned up.
    const SCRIPT: &str = r#"test_pid="$1"; dir="$2"; stop="$3"
(
    while kill -0 "$test_pid" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
    if [ -d "$dir" ]; then
        eval "$stop"
        rm -rf "$dir"
    fi
) &"#;
    let status = Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("resetd-test-reaper")
        .arg(std::process::id().to_string())
        .arg(dir)
        .arg(stop)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .status();
    match status {
        Ok(status) if status.success() => {}
        other => panic!("starting the reaper of {} with sh: {other:?}", dir.display()),
    }
}

/// The reaper's `stop` for a server whose pid is the first line of `$dir/<pid_file>`.
pub(crate) fn kill_pid_file_script(pid_file: &str) -> String {
    format!(r#"p=$(head -n 1 "$dir"/{pid_file} 2>/dev/null); [ -n "$p" ] && kill -KILL "$p" 2>/dev/null"#)
}

/// Writes `pid` to `path` (for the reaper).
pub(crate) fn write_pid_file(path: &Path, pid: u32) {
    fs::write(path, format!("{pid}\n")).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Polls `done` every 20 ms until it is true (`true`) or `timeout` has passed (`false`).
pub(crate) fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether something accepts a TCP connection at `addr` within `timeout`.
pub(crate) fn tcp_accepts(addr: SocketAddr, timeout: Duration) -> bool {
    TcpStream::connect_timeout(&addr, timeout).is_ok()
}

/// 127.0.0.1:`port`.
pub(crate) fn localhost(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Waits up to `timeout` for `child` to exit.
pub(crate) fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let mut status = None;
    wait_until(timeout, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    status
}

/// Sends `sig` to a child that may have exited already.
pub(crate) fn signal_child(child: &mut Child, sig: Signal) {
    if matches!(child.try_wait(), Ok(None)) {
        let _ = signal(child.id(), sig);
    }
}

/// SIGKILLs `child` (SIGKILL also ends a stopped process) and reaps it.
pub(crate) fn kill_child(child: &mut Child) -> Option<ExitStatus> {
    signal_child(child, Signal::KILL);
    wait_child(child, Duration::from_secs(10))
}

/// A file opened for appending, to take a child's stdout or stderr (never a pipe: a server
/// that outlives a reader must not block on, or be killed by, a full or closed pipe).
pub(crate) fn log_file(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()))
}

/// `path`'s text (lossy), or "" if it cannot be read.
pub(crate) fn read_lossy(path: &Path) -> String {
    let mut bytes = Vec::new();
    match File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)) {
        Ok(_) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    }
}

/// The last `lines` lines of `path`, for panic messages.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = read_lossy(path);
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    format!("--- last lines of {} ---\n{}", path.display(), all[start..].join("\n"))
}

/// The first `lines` warnings and errors of a resetd log (JSON lines), for panic messages: the
/// tail alone often holds only the requests that followed them.
pub(crate) fn warnings(path: &Path, lines: usize) -> String {
    let text = read_lossy(path);
    let found: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(r#""level":"WARN""#) || l.contains(r#""level":"ERROR""#))
        .take(lines)
        .collect();
    format!("--- first warnings and errors in {} ---\n{}", path.display(), found.join("\n"))
}

/// Finds `program` in `$PATH`, or at one of `extra` places.
pub(crate) fn find_program(program: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .chain(extra.iter().map(PathBuf::from))
        .find(|candidate| candidate.is_file())
}

/// An exclusive `flock(2)` on a file, held until dropped; serialises one-time setup (the
/// virtualenv, a `cargo build`) across parallel test binaries.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    pub(crate) fn acquire(path: &Path) -> Self {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("opening the lock file {}: {e}", path.display()));
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .unwrap_or_else(|e| panic!("locking {}: {e}", path.display()));
        Self { _file: file }
    }
}

/// Sends a raw HTTP/1.1 GET and returns the status code, or `None` if nothing answered.
pub(crate) fn http_status(port: u16, path: &str, timeout: Duration) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&localhost(port), timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).ok()?;
    let head = std::str::from_utf8(&head).ok()?;
    head.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_pid_survives_odd_process_names() {
        assert_eq!(parent_of("42 (postgres) S 7 42 42 0 -1"), Some(7));
        assert_eq!(parent_of("42 (a) b (c)) R 9 1 1"), Some(9));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn descendants_include_grandchildren() {
        let mut outer = Command::new("sh").args(["-c", "sleep 30 & sleep 30 & wait"]).spawn().expect("sh");
        let found = wait_until(Duration::from_secs(5), || descendants(outer.id()).len() >= 2);
        let children = descendants(outer.id());
        signal_tree(outer.id(), Signal::KILL);
        let _ = outer.wait();
        assert!(found, "sleep children of {}: {children:?}", outer.id());
        assert!(!children.contains(&outer.id()));
        assert!(descendants(std::process::id()).iter().all(|&pid| pid != std::process::id()));
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        let quoted = sh_quote("it's");
        let out = Command::new("sh").arg("-c").arg(format!("printf %s {quoted}")).output().expect("sh");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "it's");
    }
}
