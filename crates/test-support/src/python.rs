//! The tests' Python: one virtualenv in the target directory, with `aiosmtpd`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::process::{find_program, FileLock};
use crate::target_dir;

/// `<target>/venv/bin/python`, a virtualenv's Python that can import `aiosmtpd`.
///
/// An existing virtualenv with `aiosmtpd` is used as it is (the Makefile creates it with more
/// packages). Otherwise it is created (`python3 -m venv`) and `aiosmtpd` installed with pip,
/// under a file lock so that parallel test binaries do it once.
///
/// # Panics
///
/// If `python3` is missing or the virtualenv cannot be created or completed.
#[must_use]
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(ensure_venv).clone()
}

fn ensure_venv() -> PathBuf {
    let target = target_dir();
    let venv = target.join("venv");
    let python = venv.join("bin").join("python");
    if has_aiosmtpd(&python) {
        return python;
    }
    std::fs::create_dir_all(&target).unwrap_or_else(|e| panic!("creating {}: {e}", target.display()));
    let _lock = FileLock::acquire(&target.join("venv.lock"));
    if has_aiosmtpd(&python) {
        return python; // another test binary made it while we waited
    }
    if !python.is_file() {
        let python3 = find_program("python3", &[])
            .unwrap_or_else(|| panic!("python3 not found: install the Debian packages python3 and python3-venv"));
        let mut create = Command::new(python3);
        run(create.args(["-m", "venv"]).arg(&venv), "creating the test virtualenv");
    }
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "aiosmtpd"]);
    run(&mut pip, "installing aiosmtpd into the test virtualenv");
    assert!(has_aiosmtpd(&python), "{} still cannot import aiosmtpd", python.display());
    python
}

fn has_aiosmtpd(python: &Path) -> bool {
    python.is_file()
        && Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn run(command: &mut Command, what: &str) {
    let out = command.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{what}: {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {command:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
