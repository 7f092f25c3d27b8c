//! What a load cost the machine: CPU seconds of every process taking part, read from
//! `/proc/<pid>/stat` before and after (user + system time, in clock ticks).
//!
//! PostgreSQL runs one process per connection: its share is the postmaster's own time, the time
//! of every child alive at the reading, and the time of children that exited and were reaped
//! (the postmaster's `cutime + cstime`), so a backend that ends during a load still counts.

use std::fs;
use std::ops::Sub;
use std::process::Command;

/// The processes of a run, by pid.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Processes {
    pub resetd: Option<u32>,
    pub postmaster: Option<u32>,
    pub redis: Option<u32>,
    /// The SMS gateway the webhook posts to.
    pub catcher: Option<u32>,
    /// The empty axum handler (the floor).
    pub floor: Option<u32>,
}

/// CPU seconds per process group.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cpu {
    pub resetd: f64,
    pub postgres: f64,
    pub redis: f64,
    pub loadgen: f64,
    pub catcher: f64,
    pub floor: f64,
}

impl Sub for Cpu {
    type Output = Cpu;

    fn sub(self, o: Cpu) -> Cpu {
        Cpu {
            resetd: self.resetd - o.resetd,
            postgres: self.postgres - o.postgres,
            redis: self.redis - o.redis,
            loadgen: self.loadgen - o.loadgen,
            catcher: self.catcher - o.catcher,
            floor: self.floor - o.floor,
        }
    }
}

impl Cpu {
    /// The server side of a request: resetd, PostgreSQL and Redis (and the floor process when
    /// it is the one measured); not the load generator, not the delivery sink.
    pub(crate) fn stack(&self) -> f64 {
        self.resetd + self.postgres + self.redis + self.floor
    }

    /// CPU per request, in ms, per group: one line.
    pub(crate) fn per_request(&self, requests: usize) -> String {
        let ms = |s: f64| 1e3 * s / requests.max(1) as f64;
        let mut parts = vec![format!("stack {:.3} ms", ms(self.stack()))];
        for (name, s) in [
            ("resetd", self.resetd),
            ("postgres", self.postgres),
            ("redis", self.redis),
            ("floor", self.floor),
            ("loadgen", self.loadgen),
            ("sms", self.catcher),
        ] {
            if s > 0.0 {
                parts.push(format!("{name} {:.3}", ms(s)));
            }
        }
        format!("CPU/request: {}", parts.join("  "))
    }
}

fn ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        let out = Command::new("getconf").arg("CLK_TCK").output().ok();
        out.and_then(|o| String::from_utf8(o.stdout).ok()).and_then(|s| s.trim().parse().ok()).unwrap_or(100.0)
    })
}

/// `(utime + stime, cutime + cstime, ppid)` of `pid`, in ticks.
fn times(pid: u32) -> Option<(u64, u64, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    Some((field(14)? + field(15)?, field(16)? + field(17)?, u32::try_from(field(4)?).ok()?))
}

fn own(pid: Option<u32>) -> f64 {
    pid.and_then(times).map_or(0.0, |(t, _, _)| t as f64 / ticks_per_second())
}

/// The postmaster's time, its reaped children's, and every live child's.
fn postgres(postmaster: Option<u32>) -> f64 {
    let Some(postmaster) = postmaster else { return 0.0 };
    let Some((mine, reaped, _)) = times(postmaster) else { return 0.0 };
    let mut ticks = mine + reaped;
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some((t, _, parent)) = times(pid) {
            if parent == postmaster {
                ticks += t;
            }
        }
    }
    ticks as f64 / ticks_per_second()
}

/// A reading of every group now.
pub(crate) fn read(p: &Processes) -> Cpu {
    Cpu {
        resetd: own(p.resetd),
        postgres: postgres(p.postmaster),
        redis: own(p.redis),
        loadgen: own(Some(std::process::id())),
        catcher: own(p.catcher),
        floor: own(p.floor),
    }
}

/// The local PostgreSQL's postmaster, from `postmaster.pid` in its data directory.
pub(crate) fn postmaster() -> Option<u32> {
    let dir = Command::new("psql")
        .args(["-Atq", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", "show data_directory"])
        .output()
        .ok()?;
    let dir = String::from_utf8(dir.stdout).ok()?;
    let pid_file = fs::read_to_string(format!("{}/postmaster.pid", dir.trim())).ok()?;
    pid_file.lines().next()?.trim().parse().ok()
}

/// The local Redis's pid, as it reports it.
pub(crate) fn redis() -> Option<u32> {
    let info = Command::new("redis-cli").args(["-h", "127.0.0.1", "-p", "6379", "info", "server"]).output().ok()?;
    let info = String::from_utf8(info.stdout).ok()?;
    info.lines().find_map(|l| l.strip_prefix("process_id:")).and_then(|p| p.trim().parse().ok())
}
