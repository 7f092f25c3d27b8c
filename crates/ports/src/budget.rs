//! The backend budget of one request: how long its calls to the stores may take in all.
//!
//! The HTTP layer runs each request in a [`scope`]; every adapter runs each call through
//! [`call`], which bounds it by what the request has left (and by the adapter's own limit)
//! and charges the time it took. So a request that makes several calls to a hung backend
//! still fails within the budget, however many calls it makes, and time spent hashing or
//! queueing for a hashing permit is not charged. Outside a scope (background work, operator
//! commands, a task spawned to finish a committed change) only the adapter's limit applies.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static REMAINING: Cell<Duration>;
}

/// Runs `work` with `budget` of backend time for all the store calls it makes itself.
pub async fn scope<F: Future>(budget: Duration, work: F) -> F::Output {
    REMAINING.scope(Cell::new(budget), work).await
}

/// Runs one store call within `limit` and what the current scope has left; `None` when that
/// ran out first.
pub async fn call<F: Future>(limit: Duration, op: F) -> Option<F::Output> {
    let left = REMAINING.try_with(Cell::get).map_or(limit, |left| left.min(limit));
    if left.is_zero() {
        return None; // spent: not even a call that would answer at once
    }
    let started = Instant::now();
    let out = tokio::time::timeout(left, op).await.ok();
    let spent = started.elapsed();
    // Outside a scope there is nothing to charge: `try_with` then does nothing.
    let charged = REMAINING.try_with(|r| r.set(r.get().saturating_sub(spent)));
    debug_assert!(charged.is_ok() || remaining().is_none());
    out
}

/// What a scope has left (`None` outside one).
pub(crate) fn remaining() -> Option<Duration> {
    REMAINING.try_with(Cell::get).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_share_the_scope_and_are_charged_what_they_took() {
        let slow = || tokio::time::sleep(Duration::from_millis(400));
        scope(Duration::from_secs(1), async {
            assert!(call(Duration::from_secs(5), slow()).await.is_some());
            assert!(call(Duration::from_secs(5), slow()).await.is_some());
            let left = remaining().unwrap();
            assert!(left <= Duration::from_millis(200) + Duration::from_millis(5), "{left:?}");
            assert!(call(Duration::from_secs(5), slow()).await.is_none(), "the third runs out of budget");
            assert_eq!(remaining(), Some(Duration::ZERO));
            assert!(call(Duration::from_secs(5), async {}).await.is_none(), "an empty budget fails at once");
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn outside_a_scope_only_the_limit_counts() {
        assert_eq!(remaining(), None);
        assert!(call(Duration::from_secs(1), tokio::time::sleep(Duration::from_millis(900))).await.is_some());
        assert!(call(Duration::from_secs(1), tokio::time::sleep(Duration::from_millis(1100))).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn the_adapters_own_limit_still_bounds_a_call() {
        scope(Duration::from_secs(10), async {
            assert!(call(Duration::from_secs(1), tokio::time::sleep(Duration::from_secs(2))).await.is_none());
        })
        .await;
    }
}
