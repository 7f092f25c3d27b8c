//! The argon2 bounds of resets and logins, measured beside the loads they bound: one hash
//! alone (the bound: every core hashing as fast as one does alone), and every core
//! hashing at once (argon2 runs side by side contend for memory bandwidth, which the first
//! bound ignores). This machine's steal moves both from minute to minute, so each reset run is
//! measured between two of these and compared with their mean.

use std::sync::Barrier;
use std::time::Instant;

use resetd_domain::password::{Argon2Hasher, Argon2Params, Password};

/// Hashes per timing, per thread.
const HASHES: usize = 6;

/// What the production parameters (m = 19456 KiB, t = 2) cost here, now.
#[derive(Clone, Copy)]
pub(crate) struct HashRate {
    /// Seconds per hash, one thread hashing alone.
    pub(crate) alone: f64,
    /// Hashes per second with every core hashing at once.
    pub(crate) together: f64,
    /// CPU seconds per hash, one thread hashing alone (what steal does not inflate).
    pub(crate) cpu: f64,
}

impl HashRate {
    /// The bound: `cores / one hash alone`, hashes per second.
    pub(crate) fn bound(self) -> f64 {
        cores() as f64 / self.alone
    }

    /// The mean of two measurements (before and after a run).
    pub(crate) fn mean(self, other: Self) -> Self {
        let mean = |a: f64, b: f64| (a + b) / 2.0;
        Self {
            alone: mean(self.alone, other.alone),
            together: mean(self.together, other.together),
            cpu: mean(self.cpu, other.cpu),
        }
    }
}

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// The flag that makes this bench binary print a [`HashRate`] and exit.
pub(crate) const FLAG: &str = "--hash-rate";

/// Times [`HASHES`] hashes on one thread, then [`HASHES`] on each of [`cores`] threads at once,
/// in a fresh process of this binary (not in the load generator's, whose threads and heap the
/// loads have been through).
pub(crate) fn measure() -> HashRate {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("the bench binary: {e}"));
    let out = std::process::Command::new(exe).arg(FLAG).output().unwrap_or_else(|e| panic!("{FLAG}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<f64> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    let [alone, together, cpu] = v[..] else { panic!("{FLAG} printed {text:?}") };
    HashRate { alone, together, cpu }
}

/// What [`measure`] runs in its own process: prints the seconds per hash alone, the hashes per
/// second with every core hashing, and the CPU seconds per hash alone.
pub(crate) fn print_rate() {
    let (wall, cpu) = timed(1);
    let (together, _) = timed(cores());
    let h = HASHES as f64;
    println!("{} {} {}", wall / h, (cores() * HASHES) as f64 / together, cpu / h);
}

/// Seconds for `threads` threads to hash [`HASHES`] times each, side by side, and the CPU
/// seconds the threads spent on it. Each thread
/// hashes once first, untimed, as resetd's long-lived blocking threads have (a fresh thread's
/// first 19 MiB are new pages and a new allocator arena).
fn timed(threads: usize) -> (f64, f64) {
    let hasher = Argon2Hasher::new(Argon2Params::default()).unwrap_or_else(|e| panic!("{e}"));
    let pw = Password::new("Tr4vel-by-Zeppelin".into()).unwrap_or_else(|e| panic!("{e}"));
    let hash = || {
        let _ = hasher.hash(&pw, &mut rand::rngs::OsRng);
    };
    let ready = Barrier::new(threads + 1);
    let cpu_now = || {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    };
    let (started, workers) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    hash();
                    ready.wait();
                    let before = cpu_now();
                    (0..HASHES).for_each(|_| hash());
                    cpu_now() - before
                })
            })
            .collect();
        ready.wait();
        let started = Instant::now();
        (started, workers.into_iter().map(|w| w.join().unwrap_or(0.0)).sum::<f64>())
    });
    (started.elapsed().as_secs_f64(), workers)
}

/// The median of `values` (which it sorts).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
