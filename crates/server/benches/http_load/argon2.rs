//! The argon2 bounds of resets and logins, measured beside the loads they bound: one hash
//! alone (the bound: every core hashing as fast as one does alone), and every core
//! hashing at once (argon2 runs side by side contend for memory bandwidth, which the first
//! bound ignores). This machine's steal moves both from minute to minute, so each reset run is
//! measured between two of these and compared with their mean.

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
}

impl HashRate {
    /// The bound: `cores / one hash alone`, hashes per second.
    pub(crate) fn bound(self) -> f64 {
        cores() as f64 / self.alone
    }

    /// The mean of two measurements (before and after a run).
    pub(crate) fn mean(self, other: Self) -> Self {
        Self { alone: (self.alone + other.alone) / 2.0, together: (self.together + other.together) / 2.0 }
    }
}

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Times [`HASHES`] hashes on one thread, then [`HASHES`] on each of [`cores`] threads at once.
pub(crate) fn measure() -> HashRate {
    let hasher = Argon2Hasher::new(Argon2Params::default()).unwrap_or_else(|e| panic!("{e}"));
    let pw = Password::new("Tr4vel-by-Zeppelin".into()).unwrap_or_else(|e| panic!("{e}"));
    let hash_all = || {
        for _ in 0..HASHES {
            let _ = hasher.hash(&pw, &mut rand::rngs::OsRng);
        }
    };
    let t = Instant::now();
    hash_all();
    let alone = t.elapsed().as_secs_f64() / HASHES as f64;
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..cores() {
            s.spawn(hash_all);
        }
    });
    let together = (cores() * HASHES) as f64 / t.elapsed().as_secs_f64();
    HashRate { alone, together }
}

/// The median of `values` (which it sorts).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
