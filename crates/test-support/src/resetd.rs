//! The `resetd` binary as a separate process.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::process::{
    http_status, kill_child, kill_pid_file_script, log_file, read_lossy, signal_child, spawn_reaper, state_dir, tail,
    wait_child, warnings, write_pid_file, FileLock,
};
use crate::{free_port, target_dir, workspace_root};

/// How long `start` waits for `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `terminate` waits after SIGTERM.
const TERMINATE_TIMEOUT: Duration = Duration::from_secs(20);

/// `resetd serve` as a separate process on a free port of 127.0.0.1, its stdout and stderr
/// captured in a file. Dropping it kills it (and prints the output's tail if the test is
/// panicking); a reaper kills it if the test process dies first.
#[derive(Debug)]
pub struct ResetdProcess {
    dir: PathBuf,
    output: PathBuf,
    port: u16,
    child: Child,
}

impl ResetdProcess {
    /// Runs `resetd serve` with `RESETD_CONFIG_DIR=<repo>/config`, `RESETD_PROFILE=production`,
    /// `RESETD__SERVER__BIND=127.0.0.1:<free port>` and the matching
    /// `RESETD__SERVER__PUBLIC_BASE_URL`, then `envs` (which override them), and waits until
    /// `GET /healthz` answers 200. `RESETD*` variables of the test's own environment are not
    /// passed on.
    ///
    /// # Panics
    ///
    /// If the process exits first or `/healthz` does not answer 200 within 30 s (with its
    /// output), or the binary cannot be found or built.
    #[must_use]
    pub fn start(envs: &[(&str, &str)]) -> Self {
        let mut process = Self::spawn(envs);
        let mut status = None;
        let healthy = crate::process::wait_until(START_TIMEOUT, || {
            status = process.child.try_wait().ok().flatten();
            status.is_some() || http_status(process.port, "/healthz", Duration::from_secs(1)) == Some(200)
        });
        if let Some(status) = status {
            panic!("resetd exited before answering /healthz ({status})\n{}", tail(&process.output, 40));
        }
        if !healthy {
            let _ = kill_child(&mut process.child);
            panic!("resetd did not answer /healthz with 200 within 30 s\n{}", tail(&process.output, 40));
        }
        process
    }

    /// Runs `resetd serve` like [`ResetdProcess::start`] and waits up to `timeout` for it to
    /// exit, for tests that expect it to refuse to start. Returns its exit status and output.
    ///
    /// # Panics
    ///
    /// If it is still running after `timeout` (it is killed first).
    #[must_use]
    pub fn run_to_exit(envs: &[(&str, &str)], timeout: Duration) -> (ExitStatus, String) {
        let mut process = Self::spawn(envs);
        match process.wait_exit(timeout) {
            Some(status) => (status, process.log()),
            None => {
                let _ = kill_child(&mut process.child);
                panic!("resetd still runs after {timeout:?}\n{}", tail(&process.output, 40));
            }
        }
    }

    /// Runs a one-shot command (`resetd admin …`, `resetd migrate`) with the environment of
    /// [`ResetdProcess::start`] and `envs`, and waits for it: its exit status, standard
    /// output and standard error.
    ///
    /// # Panics
    ///
    /// If the binary cannot be found, built or run.
    #[must_use]
    pub fn run(args: &[&str], envs: &[(&str, &str)]) -> (ExitStatus, String, String) {
        let out = command(args, free_port(), envs).output().unwrap_or_else(|e| panic!("running resetd {args:?}: {e}"));
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The HTTP port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process wrote to stdout and stderr so far.
    #[must_use]
    pub fn log(&self) -> String {
        read_lossy(&self.output)
    }

    /// SIGKILLs the process and reaps it.
    pub fn kill(&mut self) {
        let _ = kill_child(&mut self.child);
    }

    /// Sends SIGTERM and waits for the exit (a graceful shutdown).
    ///
    /// # Panics
    ///
    /// If it has not exited 20 s later (it is killed first).
    pub fn terminate(&mut self) -> ExitStatus {
        signal_child(&mut self.child, Signal::TERM);
        match self.wait_exit(TERMINATE_TIMEOUT) {
            Some(status) => status,
            None => {
                let _ = kill_child(&mut self.child);
                panic!("resetd still runs 20 s after SIGTERM\n{}", tail(&self.output, 40));
            }
        }
    }

    /// Waits up to `timeout` for the process to exit; `None` if it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_child(&mut self.child, timeout)
    }

    fn spawn(envs: &[(&str, &str)]) -> Self {
        let binary = resetd_binary();
        let dir = state_dir("resetd");
        let output = dir.join("output.log");
        let port = free_port();
        spawn_reaper(&dir, &kill_pid_file_script("resetd.pid"));
        let mut command = command(&["serve"], port, envs);
        command.stdout(log_file(&output)).stderr(log_file(&output));
        let child = command.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        write_pid_file(&dir.join("resetd.pid"), child.id());
        Self { dir, output, port, child }
    }
}

impl Drop for ResetdProcess {
    fn drop(&mut self) {
        let _ = kill_child(&mut self.child);
        if std::thread::panicking() {
            let (port, pid) = (self.port, self.child.id());
            eprintln!("resetd on port {port} (pid {pid}):\n{}\n{}", warnings(&self.output, 20), tail(&self.output, 30));
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `resetd <args>` in the workspace with the production profile, the repository's config,
/// a bind address on `port`, and `envs` (which override them); no `RESETD*` variable of the
/// test's own environment is passed on.
fn command(args: &[&str], port: u16, envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(resetd_binary());
    command.args(args).current_dir(workspace_root());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RESETD") {
            command.env_remove(key);
        }
    }
    command.env("RESETD_CONFIG_DIR", workspace_root().join("config"));
    command.env("RESETD_PROFILE", "production");
    command.env("RESETD__SERVER__BIND", format!("127.0.0.1:{port}"));
    command.env("RESETD__SERVER__PUBLIC_BASE_URL", format!("http://127.0.0.1:{port}"));
    command.env("RESETD__OIDC__SIGNING_KEY", signing_key_pem());
    command.envs(envs.iter().copied());
    command.stdin(Stdio::null());
    command
}

/// A P-256 signing key in PKCS#8 PEM, generated at the first call and the same for the rest
/// of the test process: every resetd a test starts signs with it, as processes behind one
/// load balancer must (the production profile requires one).
///
/// # Panics
/// If the OS random source fails.
#[must_use]
pub fn signing_key_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        let (_, pem) = resetd_domain::oidc::SigningKey::generate_es256().expect("a signing key");
        secrecy::ExposeSecret::expose_secret(&pem).to_owned()
    })
}

/// The `resetd` binary next to the running test (`target/<profile>/deps/<test>` →
/// `target/<profile>/resetd`), brought up to date once per test process with `cargo build
/// --bin resetd` (a no-op when it is current): `cargo test -p <one crate>` does not rebuild
/// another package's binary, and a stale one would test old code.
fn resetd_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let profile_dir = profile_dir();
        let binary = profile_dir.join("resetd");
        let _lock = FileLock::acquire(&target_dir().join("resetd-build.lock"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut build = Command::new(cargo);
        build.args(["build", "-q", "--bin", "resetd", "--manifest-path"]).arg(workspace_root().join("Cargo.toml"));
        if profile_dir.file_name().is_some_and(|name| name == "release") {
            build.arg("--release");
        }
        let started = Instant::now();
        let status = build.stdin(Stdio::null()).status().unwrap_or_else(|e| panic!("running {build:?}: {e}"));
        assert!(status.success(), "{build:?} failed ({status})");
        if started.elapsed() > Duration::from_secs(5) {
            eprintln!("resetd-test-support: built resetd in {:?}", started.elapsed());
        }
        assert!(binary.is_file(), "{build:?} succeeded but {} is missing", binary.display());
        binary
    })
}

/// `target/<profile>`: the folder above the test executable's `deps/`, else `target/debug`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().ok();
    let parent = exe.as_deref().and_then(Path::parent);
    match parent {
        Some(deps) if deps.ends_with("deps") => deps.parent().unwrap_or(deps).to_path_buf(),
        Some(dir) => dir.to_path_buf(),
        None => target_dir().join("debug"),
    }
}
