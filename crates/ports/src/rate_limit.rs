//! Fixed-window rate limits shared by every resetd process.

use std::time::Duration;

use async_trait::async_trait;

use crate::StoreError;

/// The answer to one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Within the limit; the hit was counted.
    Allowed,
    /// Over the limit; the window ends in `retry_after`.
    Limited {
        /// Time until the window ends (more than zero, at most the window).
        retry_after: Duration,
    },
}

/// One limit to check with [`RateLimiter::hit_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCheck {
    /// What is counted (a client, an address digest, …); checks of the same key share a window.
    pub key: String,
    /// Hits allowed per window.
    pub limit: u32,
    /// How long a window lasts from its first counted hit.
    pub window: Duration,
}

/// Fixed-window counters shared by every process.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Checks `key` against `limit` in its current window of `window` (which starts at the
    /// first counted hit) and, only when the hit is within the limit, counts it. A refused
    /// hit counts nothing, so a caller over a limit cannot push it further. Atomic across
    /// processes.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<RateDecision, StoreError>;

    /// Takes back one hit counted on `key` by [`Self::hit`] (never below zero; nothing when the
    /// window has ended).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn undo(&self, key: &str) -> Result<(), StoreError>;

    /// Ends `key`'s current window (a successful reset clears its account's guess budget).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn clear(&self, key: &str) -> Result<(), StoreError>;

    /// The hits counted on `key` in its current window (0 when there is none), without
    /// counting one.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn count(&self, key: &str) -> Result<u32, StoreError>;

    /// Every check of one request, answering in the same order. A request that any limit
    /// refuses counts on none: each key's check-and-count is atomic on its own (so the keys
    /// may live on different Redis Cluster slots), and the counts already made are undone
    /// when another key refuses. Backends may send the checks in one round trip.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn hit_all(&self, checks: &[RateCheck]) -> Result<Vec<RateDecision>, StoreError> {
        let mut out = Vec::with_capacity(checks.len());
        for c in checks {
            out.push(self.hit(&c.key, c.limit, c.window).await?);
        }
        undo_if_refused(self, checks, &out).await?;
        Ok(out)
    }
}

/// When any of `decisions` refused, takes back the hits the others counted.
///
/// # Errors
/// [`StoreError`] only.
pub(crate) async fn undo_if_refused<L: RateLimiter + ?Sized>(
    limiter: &L,
    checks: &[RateCheck],
    decisions: &[RateDecision],
) -> Result<(), StoreError> {
    if decisions.iter().all(|d| *d == RateDecision::Allowed) {
        return Ok(());
    }
    for (c, d) in checks.iter().zip(decisions) {
        if *d == RateDecision::Allowed {
            limiter.undo(&c.key).await?;
        }
    }
    Ok(())
}
