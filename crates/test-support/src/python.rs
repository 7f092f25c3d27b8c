//! The tests' Python: one virtualenv in the target directory, with the packages of
//! `tests/requirements.txt` (the SMTP sink's `aiosmtpd`, the pinned Looker SDK).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::process::{find_program, FileLock};
use crate::target_dir;

/// `<target>/venv/bin/python`, a virtualenv's Python with `tests/requirements.txt` installed.
///
/// A virtualenv whose stamp (`.requirements`, a copy of the file it was made from) matches
/// the file is used as it is; `make test` makes the same one. Otherwise it is created
/// (`python3 -m venv`) and the requirements installed with pip, under a file lock so that
/// parallel test binaries do it once.
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
    let requirements = crate::workspace_root().join("tests").join("requirements.txt");
    let wanted =
        std::fs::read_to_string(&requirements).unwrap_or_else(|e| panic!("reading {}: {e}", requirements.display()));
    let stamp = venv.join(".requirements");
    let ready = || python.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted);
    if ready() {
        return python;
    }
    std::fs::create_dir_all(&target).unwrap_or_else(|e| panic!("creating {}: {e}", target.display()));
    let _lock = FileLock::acquire(&target.join("venv.lock"));
    if ready() {
        return python; // another test binary made it while we waited
    }
    if !python.is_file() {
        let python3 = find_program("python3", &[])
            .unwrap_or_else(|| panic!("python3 not found: install the Debian packages python3 and python3-venv"));
        let mut create = Command::new(python3);
        run(create.args(["-m", "venv"]).arg(&venv), "creating the test virtualenv");
    }
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "-r"]).arg(&requirements);
    run(&mut pip, "installing tests/requirements.txt into the test virtualenv");
    assert!(has_aiosmtpd(&python), "{} still cannot import aiosmtpd", python.display());
    std::fs::write(&stamp, wanted).unwrap_or_else(|e| panic!("writing {}: {e}", stamp.display()));
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
