//! `[redis]`: where Redis is (one server, a cluster, or sentinels) and what waits for replicas.

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

/// Redis: one-time codes, rate limits, sessions and channel health, shared by all processes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redis {
    /// `standalone` (one server), `cluster` (Redis Cluster) or `sentinel`.
    pub mode: RedisMode,
    /// The Redis URL; with `cluster` a comma-separated list of seed nodes, with `sentinel` of
    /// the sentinels (their scheme, user, password and database are the master's). Empty: all
    /// of it in memory, for one process only (dev profile only).
    pub url: SecretString,
    /// Prefix of every Redis key (`resetd:`).
    pub key_prefix: String,
    /// The name the sentinels know the master by (`sentinel` mode).
    pub sentinel_master: String,
    /// The sentinels' own user, where it differs from the master's (empty: the URLs').
    pub sentinel_username: String,
    /// The sentinels' own password, where it differs from the master's (empty: the URLs').
    pub sentinel_password: SecretString,
    /// TLS to the sentinels: `same` (as the URLs say), `on` or `off`.
    pub sentinel_tls: SentinelTlsSetting,
    /// Replicas that must acknowledge each write a guarantee rests on (`WAIT`), else 503; 0: none.
    pub wait_replicas: u32,
    /// How long such a write waits for them, in ms.
    pub wait_timeout_ms: u64,
}

/// `redis.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisMode {
    /// One server.
    Standalone,
    /// Redis Cluster.
    Cluster,
    /// A master found through sentinels.
    Sentinel,
}

/// `redis.sentinel_tls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SentinelTlsSetting {
    /// As the sentinel URLs say.
    Same,
    /// Always TLS.
    On,
    /// Never TLS.
    Off,
}

impl Redis {
    /// The adapter's view of these settings.
    ///
    /// # Errors
    /// A replica wait that could not end within one Redis call's one-second deadline.
    pub fn topology(&self) -> anyhow::Result<resetd_adapters_redis::RedisTopology> {
        use resetd_adapters_redis::{RedisMode as Mode, RedisTopology, SentinelTls};
        anyhow::ensure!(
            self.wait_replicas == 0 || (1..1000).contains(&self.wait_timeout_ms),
            "redis.wait_timeout_ms must be between 1 and 999 when redis.wait_replicas is set \
             (a Redis call may take one second in all)"
        );
        Ok(RedisTopology {
            mode: match self.mode {
                RedisMode::Standalone => Mode::Standalone,
                RedisMode::Cluster => Mode::Cluster,
                RedisMode::Sentinel => Mode::Sentinel,
            },
            url: self.url.expose_secret().to_owned(),
            sentinel_master: self.sentinel_master.clone(),
            sentinel_username: self.sentinel_username.clone(),
            sentinel_password: self.sentinel_password.expose_secret().to_owned(),
            sentinel_tls: match self.sentinel_tls {
                SentinelTlsSetting::Same => SentinelTls::Same,
                SentinelTlsSetting::On => SentinelTls::On,
                SentinelTlsSetting::Off => SentinelTls::Off,
            },
            wait_replicas: self.wait_replicas,
            wait_timeout: std::time::Duration::from_millis(self.wait_timeout_ms),
        })
    }
}
