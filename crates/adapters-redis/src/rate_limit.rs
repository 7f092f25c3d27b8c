//! [`RateLimiter`] on Redis: a fixed window per key, one Lua script per hit.
//!
//! The window counter is `Prl:{<key>}`. The script counts a hit only when it is within the
//! limit (giving the counter the window as its TTL on the first hit) and otherwise answers
//! with the remaining TTL, counting nothing. All the limits of one request go to one call of
//! it (`rate_limit.lua`), which counts on every key or on none; on Redis Cluster, where they
//! sit on different slots, each key has its script, and when one refuses a second round trip
//! takes back the hits the others counted (`rate_undo.lua`, one key each).

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use resetd_domain::otp::Channel;
use resetd_ports::health::ChannelHealth;
use resetd_ports::rate_limit::{RateCheck, RateDecision, RateLimiter};
use resetd_ports::StoreError;

use crate::lanes::Lane;
use crate::store::deadline;
use crate::{keys, RedisStore};

static HIT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/rate_limit.lua")));
static UNDO: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/rate_undo.lua")));

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

impl RedisStore {
    /// [`RateLimiter::hit_all`] one script per key, concurrently, over one lane (Redis
    /// Cluster): when all are allowed each is waited for on its master; when one refused, the
    /// others are taken back and nothing waits.
    async fn hit_all_apart(&self, checks: &[RateCheck]) -> Result<Vec<RateDecision>, StoreError> {
        let lane = self.lane().await?;
        let hits = checks.iter().map(|c| self.count_hit(&lane, &c.key, c.limit, c.window));
        let decisions = futures::future::try_join_all(hits).await?;
        if decisions.iter().all(|d| *d == RateDecision::Allowed) {
            let keys: Vec<String> = checks.iter().map(|c| keys::rate_limit(self.prefix(), &c.key)).collect();
            futures::future::try_join_all(keys.iter().map(|key| self.replicated(&lane, key))).await?;
        } else {
            let allowed = checks.iter().zip(&decisions).filter(|(_, d)| **d == RateDecision::Allowed);
            futures::future::try_join_all(allowed.map(|(c, _)| self.undo(&c.key))).await?;
        }
        Ok(decisions)
    }

    /// One hit on `key` over `lane`, without waiting for replicas.
    async fn count_hit(
        &self,
        lane: &Lane,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StoreError> {
        let mut call = HIT.prepare_invoke();
        call.key(keys::rate_limit(self.prefix(), key)).arg(millis(window)).arg(limit);
        let ttls: Vec<i64> = deadline(call.invoke_async(&mut lane.conn())).await?;
        let [ttl_ms] = ttls[..] else {
            return Err(StoreError::unexpected("the rate-limit script answered for another number of keys"));
        };
        Ok(decision(ttl_ms, window))
    }
}

#[async_trait]
impl RateLimiter for RedisStore {
    /// One script over every key (`rate_limit.lua`): one round trip, and a refused request
    /// counts on no key, so nothing is taken back. On Redis Cluster, where the keys sit on
    /// different slots, one script per key runs side by side instead, and a second round trip
    /// takes back the hits of the others when one refused.
    async fn hit_all(&self, checks: &[RateCheck]) -> Result<Vec<RateDecision>, StoreError> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        if self.is_cluster() {
            return self.hit_all_apart(checks).await;
        }
        let mut call = HIT.prepare_invoke();
        for c in checks {
            call.key(keys::rate_limit(self.prefix(), &c.key)).arg(millis(c.window)).arg(c.limit);
        }
        let lane = self.lane().await?;
        let ttls: Vec<i64> = deadline(call.invoke_async(&mut lane.conn())).await?;
        if ttls.len() != checks.len() {
            return Err(StoreError::unexpected("the rate-limit script answered for another number of keys"));
        }
        let decisions: Vec<RateDecision> =
            ttls.into_iter().zip(checks).map(|(ttl, c)| decision(ttl, c.window)).collect();
        if decisions.iter().all(|d| *d == RateDecision::Allowed) {
            self.replicated(&lane, &keys::rate_limit(self.prefix(), &checks[0].key)).await?;
        }
        Ok(decisions)
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let _: () =
            deadline(redis::cmd("DEL").arg(keys::rate_limit(self.prefix(), key)).query_async(&mut conn)).await?;
        Ok(())
    }

    async fn undo(&self, key: &str) -> Result<(), StoreError> {
        let mut call = UNDO.prepare_invoke();
        call.key(keys::rate_limit(self.prefix(), key));
        let mut conn = self.conn();
        let _: i64 = deadline(call.invoke_async(&mut conn)).await?;
        Ok(())
    }

    /// Waits for replicas only when the hit counted (a refused one counts nothing).
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<RateDecision, StoreError> {
        let lane = self.lane().await?;
        let decision = self.count_hit(&lane, key, limit, window).await?;
        if decision == RateDecision::Allowed {
            self.replicated(&lane, &keys::rate_limit(self.prefix(), key)).await?;
        }
        Ok(decision)
    }

    async fn count(&self, key: &str) -> Result<u32, StoreError> {
        let mut conn = self.conn();
        let n: Option<i64> =
            deadline(redis::cmd("GET").arg(keys::rate_limit(self.prefix(), key)).query_async(&mut conn)).await?;
        Ok(n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
    }
}

/// [`ChannelHealth`] on Redis: `P{health:<channel>}` exists, with a TTL, while the channel is
/// marked failing.
#[async_trait]
impl ChannelHealth for RedisStore {
    async fn mark_failing(&self, channel: Channel, for_at_most: Duration) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let key = keys::channel_health(self.prefix(), channel.as_str());
        let set = redis::cmd("SET").arg(key).arg(1).arg("PX").arg(millis(for_at_most)).to_owned();
        let _: () = deadline(set.query_async(&mut conn)).await?;
        Ok(())
    }

    async fn mark_working(&self, channel: Channel) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let key = keys::channel_health(self.prefix(), channel.as_str());
        let _: () = deadline(redis::cmd("DEL").arg(key).query_async(&mut conn)).await?;
        Ok(())
    }

    async fn is_failing(&self, channel: Channel) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let key = keys::channel_health(self.prefix(), channel.as_str());
        let n: i64 = deadline(redis::cmd("EXISTS").arg(key).query_async(&mut conn)).await?;
        Ok(n > 0)
    }
}
