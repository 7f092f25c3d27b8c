//! [`RateLimiter`] on Redis: a fixed window per key, one Lua script per hit.
//!
//! The window counter is `Prl:{<key>}`. The script increments it, gives it the window as its
//! TTL on the first hit, and answers with the remaining TTL once the count is over the limit.
//! One key per script, so it is atomic across processes and Cluster-safe.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use resetd_ports::rate_limit::{RateCheck, RateDecision, RateLimiter};
use resetd_ports::StoreError;

use crate::store::{deadline, deadline_raw};
use crate::{keys, RedisStore};

static HIT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/rate_limit.lua")));

/// A duration in whole milliseconds for Redis: at least 1, at most `i64::MAX`.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// The script's answer: -1 within the limit, else the ms left in the window.
fn decision(ttl_ms: i64, window: Duration) -> RateDecision {
    match u64::try_from(ttl_ms) {
        Err(_) => RateDecision::Allowed,
        Ok(ms) => RateDecision::Limited { retry_after: Duration::from_millis(ms.max(1)).min(window) },
    }
}

#[async_trait]
impl RateLimiter for RedisStore {
    /// One pipelined round trip of `EVALSHA`s. Should Redis not know the script (a restart,
    /// `SCRIPT FLUSH`), every call of the pipeline fails alike and none counted: the script is
    /// loaded and the pipeline sent once more.
    async fn hit_all(&self, checks: &[RateCheck]) -> Result<Vec<RateDecision>, StoreError> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for c in checks {
            pipe.cmd("EVALSHA")
                .arg(HIT.get_hash())
                .arg(1)
                .arg(keys::rate_limit(self.prefix(), &c.key))
                .arg(millis(c.window))
                .arg(c.limit);
        }
        let mut conn = self.conn();
        let ttls: Vec<i64> = match deadline_raw(pipe.query_async(&mut conn)).await? {
            Err(e) if e.kind() == redis::ErrorKind::NoScriptError => {
                let _: String = deadline(HIT.prepare_invoke().load_async(&mut conn)).await?;
                deadline(pipe.query_async(&mut conn)).await?
            }
            other => other.map_err(crate::error::map)?,
        };
        Ok(ttls.into_iter().zip(checks).map(|(ttl, c)| decision(ttl, c.window)).collect())
    }

    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<RateDecision, StoreError> {
        let mut call = HIT.prepare_invoke();
        call.key(keys::rate_limit(self.prefix(), key)).arg(millis(window)).arg(limit);
        let mut conn = self.conn();
        let ttl_ms: i64 = deadline(call.invoke_async(&mut conn)).await?;
        Ok(decision(ttl_ms, window))
    }

    async fn count(&self, key: &str) -> Result<u32, StoreError> {
        let mut conn = self.conn();
        let n: Option<i64> =
            deadline(redis::cmd("GET").arg(keys::rate_limit(self.prefix(), key)).query_async(&mut conn)).await?;
        Ok(n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
    }
}
