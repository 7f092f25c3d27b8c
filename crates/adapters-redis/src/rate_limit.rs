//! [`RateLimiter`] on Redis: a fixed window per key, one Lua script per hit.
//!
//! The window counter is `Prl:{<key>}`. The script counts a hit only when it is within the
//! limit (giving the counter the window as its TTL on the first hit) and otherwise answers
//! with the remaining TTL, counting nothing. One key per script, so each check is atomic
//! across processes and Cluster-safe; when one key of a request refuses, a second round trip
//! takes back the hits the others counted (`rate_undo.lua`, one key each).

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use resetd_domain::otp::Channel;
use resetd_ports::health::ChannelHealth;
use resetd_ports::rate_limit::{RateCheck, RateDecision, RateLimiter};
use resetd_ports::StoreError;

use crate::store::{deadline, deadline_raw};
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
    /// Sends a pipeline of `EVALSHA`s of `script`. Should Redis not know the script (a restart,
    /// `SCRIPT FLUSH`), every call of the pipeline fails alike and none ran: the script is
    /// loaded and the pipeline sent once more.
    async fn run_scripts(&self, pipe: &redis::Pipeline, script: &Script) -> Result<Vec<i64>, StoreError> {
        let mut conn = self.conn();
        match deadline_raw(pipe.query_async(&mut conn)).await? {
            Err(e) if e.kind() == redis::ErrorKind::NoScriptError => {
                let _: String = deadline(script.prepare_invoke().load_async(&mut conn)).await?;
                deadline(pipe.query_async(&mut conn)).await
            }
            other => other.map_err(crate::error::map),
        }
    }

    /// [`RateLimiter::hit_all`] one script per key, concurrently (Redis Cluster).
    async fn hit_all_apart(&self, checks: &[RateCheck]) -> Result<Vec<RateDecision>, StoreError> {
        let hits = checks.iter().map(|c| self.hit(&c.key, c.limit, c.window));
        let decisions = futures::future::try_join_all(hits).await?;
        if decisions.iter().any(|d| *d != RateDecision::Allowed) {
            let allowed = checks.iter().zip(&decisions).filter(|(_, d)| **d == RateDecision::Allowed);
            futures::future::try_join_all(allowed.map(|(c, _)| self.undo(&c.key))).await?;
        }
        Ok(decisions)
    }
}

#[async_trait]
impl RateLimiter for RedisStore {
    /// One pipelined round trip of `EVALSHA`s; a second one, only when a key refused, takes
    /// back the hits of the others. On Redis Cluster, where one pipeline reaches one node, the
    /// scripts run side by side instead, one per key.
    async fn hit_all(&self, checks: &[RateCheck]) -> Result<Vec<RateDecision>, StoreError> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        if self.is_cluster() {
            return self.hit_all_apart(checks).await;
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
        let ttls: Vec<i64> = self.run_scripts(&pipe, &HIT).await?;
        // One connection, so one WAIT covers every count of the pipeline.
        self.replicated(&keys::rate_limit(self.prefix(), &checks[0].key)).await?;
        let decisions: Vec<RateDecision> =
            ttls.into_iter().zip(checks).map(|(ttl, c)| decision(ttl, c.window)).collect();
        if decisions.iter().any(|d| *d != RateDecision::Allowed) {
            let mut undo = redis::pipe();
            for (c, _) in checks.iter().zip(&decisions).filter(|(_, d)| **d == RateDecision::Allowed) {
                undo.cmd("EVALSHA").arg(UNDO.get_hash()).arg(1).arg(keys::rate_limit(self.prefix(), &c.key));
            }
            let _: Vec<i64> = self.run_scripts(&undo, &UNDO).await?;
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

    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<RateDecision, StoreError> {
        let mut call = HIT.prepare_invoke();
        call.key(keys::rate_limit(self.prefix(), key)).arg(millis(window)).arg(limit);
        let mut conn = self.conn();
        let ttl_ms: i64 = deadline(call.invoke_async(&mut conn)).await?;
        self.replicated(&keys::rate_limit(self.prefix(), key)).await?;
        Ok(decision(ttl_ms, window))
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
