//! Fixed-window rate limits shared by every resetd process.

use std::time::Duration;

use async_trait::async_trait;

use crate::StoreError;

/// The answer to one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Over the limit; the window ends in `retry_after`.
    Limited {
        retry_after: Duration,
    },
}

/// One limit to check with [`RateLimiter::hit_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCheck {
    pub key: String,
    pub limit: u32,
    pub window: Duration,
}

#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit on `key` in its current window of `window` (which starts at the first
    /// hit) and answers whether it is within `limit`. Atomic across processes.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<RateDecision, StoreError>;

    /// The hits counted on `key` in its current window (0 when there is none), without
    /// counting one.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn count(&self, key: &str) -> Result<u32, StoreError>;

    /// [`Self::hit`] on every check, in order, answering in the same order. Every counter is
    /// counted, whatever the others answer. Backends may send them in one round trip.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn hit_all(&self, checks: &[RateCheck]) -> Result<Vec<RateDecision>, StoreError> {
        let mut out = Vec::with_capacity(checks.len());
        for c in checks {
            out.push(self.hit(&c.key, c.limit, c.window).await?);
        }
        Ok(out)
    }
}
