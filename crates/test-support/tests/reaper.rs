//! The reaper: servers do not outlive a test process that dies without dropping them.
//!
//! Each test runs this test binary again as a child process (the `reaper_child` test, guided
//! by an environment variable), lets the child start a server and then end without dropping
//! it, and checks that the server's port goes quiet and its directory goes away.

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use resetd_test_support::{shared_redis_url, target_dir, Postgres};

const CHILD_ENV: &str = "RESETD_TEST_SUPPORT_REAPER_CHILD";

/// Does nothing unless started by the tests below as their child process.
#[test]
fn reaper_child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    match mode.as_str() {
        // A shared server lives in a static that never drops; the process then exits normally.
        "shared-redis" => {
            let url = shared_redis_url();
            let port = url.rsplit(':').next().expect("port");
            println!("READY {port}");
        }
        // The test process is SIGKILLed by the parent while the server is paused (the reaper
        // has to wake it to stop it).
        "postgres" => {
            let postgres = Postgres::start();
            postgres.pause();
            println!("READY {} {}", postgres.port(), postgres.dir().display());
            std::thread::sleep(Duration::from_secs(120));
            drop(postgres);
        }
        other => panic!("unknown {CHILD_ENV}={other}"),
    }
}

/// Starts this binary's `reaper_child` test with `mode` and returns it with the words after
/// `READY` on its stdout.
fn start_child(mode: &str) -> (Child, Vec<String>) {
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .args(["reaper_child", "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, mode)
        .env_remove("RESETD_TEST_REDIS_URL")
        .env_remove("RESETD_TEST_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the child test process");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest may have written "test reaper_child ... " on the same line.
            if let Some((_, ready)) = line.split_once("READY ") {
                let _ = tx.send(ready.split_whitespace().map(str::to_owned).collect::<Vec<_>>());
            }
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|e| {
        let _ = child.kill();
        panic!("the child test process never said READY: {e}");
    });
    (child, ready)
}

fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300)).is_ok()
}

/// Waits up to `timeout` for the port to stop answering and `dirs` to vanish.
fn assert_cleaned_up(port: u16, dirs: &dyn Fn() -> Vec<PathBuf>, timeout: Duration) {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if !answers(port) && dirs().is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("after {timeout:?}: port {port} answers: {}, directories left: {:?}", answers(port), dirs());
}

fn dirs_of(pid: u32, kind: &str) -> Vec<PathBuf> {
    let prefix = format!("{kind}-{pid}-");
    std::fs::read_dir(target_dir().join("test-servers"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

#[test]
fn a_shared_server_is_reaped_after_its_process_exits_without_dropping_it() {
    let (mut child, ready) = start_child("shared-redis");
    let port: u16 = ready[0].parse().expect("port");
    let pid = child.id();
    let status = child.wait().expect("wait");
    assert!(status.success(), "the child test failed: {status}");
    // Reaped (not a zombie), so the reaper sees it gone.
    assert_cleaned_up(port, &|| dirs_of(pid, "redis"), Duration::from_secs(5));
}

#[test]
fn a_paused_postgres_is_reaped_after_its_process_is_sigkilled() {
    let (mut child, ready) = start_child("postgres");
    let port: u16 = ready[0].parse().expect("port");
    let dir = PathBuf::from(&ready[1]);
    assert!(answers(port), "the child's PostgreSQL should be up (paused, the kernel still accepts)");
    assert!(dir.is_dir());
    child.kill().expect("SIGKILL the child");
    let _ = child.wait().expect("wait");
    let dirs = move || if Path::new(&dir).exists() { vec![dir.clone()] } else { vec![] };
    assert_cleaned_up(port, &dirs, Duration::from_secs(10));
}
