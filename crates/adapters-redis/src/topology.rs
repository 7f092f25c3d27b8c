//! Where Redis is: one server, a Redis Cluster, or a master found through sentinels; and how
//! to connect to it with bounded timeouts.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::{AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, IntoConnectionInfo as _, TlsMode};
use resetd_ports::StoreError;

use crate::conn::{Conn, SentinelConn};
use crate::error;

/// How long one TCP connection attempt may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long Redis may take to answer one command.
pub(crate) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Connection attempts after the first one (at connect and on every reconnect).
const RETRIES: usize = 1;
/// Longest pause between two connection attempts, in milliseconds.
const MAX_RETRY_DELAY_MS: u64 = 200;

/// How the Redis servers are arranged (`redis.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedisMode {
    /// One server; `url` names it. (A proxy in front of a cluster that refuses scripts over
    /// several slots will refuse the rate limits' script, which takes every key of a request.)
    #[default]
    Standalone,
    /// Redis Cluster; `url` lists seed nodes, the rest is learnt from them.
    Cluster,
    /// A master and its replicas watched by sentinels; `url` lists the sentinels.
    Sentinel,
}

/// Whether the sentinels are reached over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SentinelTls {
    /// As the sentinel URLs say (`redis://` or `rediss://`), like the master.
    #[default]
    Same,
    /// TLS to the sentinels, whatever the URLs say.
    On,
    /// Plain TCP to the sentinels, whatever the URLs say.
    Off,
}

/// Everything needed to reach Redis, in any [`RedisMode`].
///
/// `url` is one URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS) or, for a
/// cluster or sentinels, a comma-separated list of them. With sentinels, the URLs' scheme,
/// user, password and database are the master's (every URL must say them alike), and also the
/// sentinels' unless `sentinel_username`, `sentinel_password` or `sentinel_tls` say otherwise.
///
/// `Debug` shows no URL or password.
#[derive(Clone, Default)]
pub struct RedisTopology {
    /// How the servers are arranged.
    pub mode: RedisMode,
    /// The server, the seed nodes or the sentinels.
    pub url: String,
    /// The name the sentinels know the master by (sentinel mode).
    pub sentinel_master: String,
    /// The sentinels' own user, where it differs from the master's (empty: the URLs').
    pub sentinel_username: String,
    /// The sentinels' own password, where it differs from the master's (empty: the URLs').
    pub sentinel_password: String,
    /// TLS to the sentinels.
    pub sentinel_tls: SentinelTls,
    /// Replicas that must acknowledge a write a guarantee rests on (a consumed code, a guess
    /// or attempt count, a lockout count, a generation bump, an ended session) before it counts:
    /// `WAIT <n> <wait_timeout>` after it, and the request answers 503 if fewer did. 0: none.
    pub wait_replicas: u32,
    /// How long such a write waits for its replicas.
    pub wait_timeout: Duration,
}

impl fmt::Debug for RedisTopology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTopology")
            .field("mode", &self.mode)
            .field("sentinel_master", &self.sentinel_master)
            .field("sentinel_tls", &self.sentinel_tls)
            .field("wait_replicas", &self.wait_replicas)
            .field("wait_timeout", &self.wait_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisTopology {
    /// One server at `url`.
    #[must_use]
    pub fn standalone(url: &str) -> Self {
        Self { url: url.to_owned(), ..Self::default() }
    }

    fn urls(&self) -> Result<Vec<ConnectionInfo>, StoreError> {
        let urls: Vec<&str> = self.url.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
        if urls.is_empty() {
            return Err(StoreError::unexpected("no Redis URL given"));
        }
        urls.into_iter().map(|u| u.into_connection_info().map_err(error::map)).collect()
    }

    /// Connects, within about two seconds, and checks nothing more (see
    /// [`crate::RedisStore::ping`]).
    pub(crate) async fn connect(&self) -> Result<Conn, StoreError> {
        let urls = self.urls()?;
        match self.mode {
            RedisMode::Standalone => {
                let [url] = <[ConnectionInfo; 1]>::try_from(urls)
                    .map_err(|_| StoreError::unexpected("redis.mode standalone takes one URL"))?;
                let client = redis::Client::open(url).map_err(error::map)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(CONNECT_TIMEOUT)
                    .set_response_timeout(RESPONSE_TIMEOUT)
                    .set_number_of_retries(RETRIES)
                    .set_max_delay(MAX_RETRY_DELAY_MS);
                Ok(Conn::Single(ConnectionManager::new_with_config(client, config).await.map_err(error::map)?))
            }
            RedisMode::Cluster => {
                let client = ClusterClientBuilder::new(urls)
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT)
                    .retries(2)
                    .min_retry_wait(10)
                    .max_retry_wait(MAX_RETRY_DELAY_MS)
                    .build()
                    .map_err(error::map)?;
                Ok(Conn::Cluster(client.get_async_connection().await.map_err(error::map)?))
            }
            RedisMode::Sentinel => {
                if self.sentinel_master.is_empty() {
                    return Err(StoreError::unexpected("redis.mode sentinel needs redis.sentinel_master"));
                }
                let master = same_master(&urls)?;
                let sentinels: Vec<ConnectionInfo> = urls.iter().map(|u| self.sentinel(u)).collect();
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(CONNECT_TIMEOUT)
                    .set_response_timeout(RESPONSE_TIMEOUT);
                let conn = SentinelConn::new(sentinels, &self.sentinel_master, config, master);
                conn.connection().await.map_err(error::map)?;
                Ok(Conn::Sentinel(conn))
            }
        }
    }

    /// How to reach the sentinel at `url`: its address, database 0 (sentinels have no other),
    /// and the sentinels' own credentials and TLS where configured.
    fn sentinel(&self, url: &ConnectionInfo) -> ConnectionInfo {
        let mut info = url.clone();
        info.redis.db = 0;
        if !self.sentinel_username.is_empty() {
            info.redis.username = Some(self.sentinel_username.clone());
        }
        if !self.sentinel_password.is_empty() {
            info.redis.password = Some(self.sentinel_password.clone());
        }
        info.addr = match (self.sentinel_tls, info.addr) {
            (SentinelTls::On, ConnectionAddr::Tcp(host, port)) => {
                ConnectionAddr::TcpTls { host, port, insecure: false, tls_params: None }
            }
            (SentinelTls::Off, ConnectionAddr::TcpTls { host, port, .. }) => ConnectionAddr::Tcp(host, port),
            (_, addr) => addr,
        };
        info
    }
}

/// How to reach the master, which every sentinel URL must say alike (scheme, user, password,
/// database, protocol): a list that disagrees is refused rather than read from its first URL.
fn same_master(urls: &[ConnectionInfo]) -> Result<ConnectionInfo, StoreError> {
    let key = |u: &ConnectionInfo| {
        let r = &u.redis;
        (tls_of(&u.addr), r.db, r.username.clone(), r.password.clone(), r.protocol)
    };
    let first = &urls[0];
    if urls.iter().any(|u| key(u) != key(first)) {
        return Err(StoreError::unexpected(
            "the sentinel URLs in redis.url disagree on the master's scheme, user, password or database",
        ));
    }
    Ok(first.clone())
}

/// The TLS mode of a server address.
fn tls_of(addr: &ConnectionAddr) -> Option<TlsMode> {
    match addr {
        ConnectionAddr::TcpTls { insecure: true, .. } => Some(TlsMode::Insecure),
        ConnectionAddr::TcpTls { .. } => Some(TlsMode::Secure),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology(url: &str) -> RedisTopology {
        RedisTopology {
            mode: RedisMode::Sentinel,
            url: url.into(),
            sentinel_master: "main".into(),
            ..RedisTopology::default()
        }
    }

    #[test]
    fn sentinels_take_the_masters_credentials_unless_they_have_their_own() {
        let t = topology("redis://app:s3cret@10.0.0.1:26379/2, redis://app:s3cret@10.0.0.2:26379/2");
        let urls = t.urls().unwrap();
        assert_eq!(urls.len(), 2);
        let same = t.sentinel(&urls[1]);
        assert_eq!((same.redis.username.as_deref(), same.redis.password.as_deref()), (Some("app"), Some("s3cret")));
        assert_eq!(same.redis.db, 0, "sentinels have no databases");
        assert_eq!(urls[1].redis.db, 2, "the master keeps its database");

        let own = RedisTopology { sentinel_username: "watch".into(), sentinel_password: "other".into(), ..t };
        let info = own.sentinel(&urls[0]);
        assert_eq!((info.redis.username.as_deref(), info.redis.password.as_deref()), (Some("watch"), Some("other")));
    }

    #[test]
    fn sentinel_urls_that_disagree_on_the_master_are_refused() {
        for other in [
            "rediss://app:s3cret@h2:1/2",
            "redis://bob:s3cret@h2:1/2",
            "redis://app:other@h2:1/2",
            "redis://app:s3cret@h2:1/3",
        ] {
            let t = topology(&format!("redis://app:s3cret@h1:1/2,{other}"));
            let refused = same_master(&t.urls().unwrap()).unwrap_err();
            assert!(!refused.to_string().contains("s3cret"), "{refused}");
        }
        let alike = topology("redis://app:s3cret@h1:1/2,redis://app:s3cret@h2:1/2");
        assert_eq!(same_master(&alike.urls().unwrap()).unwrap().redis.db, 2);
    }

    #[test]
    fn sentinel_tls_follows_the_urls_unless_told() {
        let t = topology("rediss://10.0.0.1:26379");
        let url = &t.urls().unwrap()[0];
        assert!(matches!(tls_of(&url.addr), Some(TlsMode::Secure)));
        assert!(matches!(t.sentinel(url).addr, ConnectionAddr::TcpTls { .. }));
        let off = RedisTopology { sentinel_tls: SentinelTls::Off, ..t.clone() };
        assert_eq!(off.sentinel(url).addr, ConnectionAddr::Tcp("10.0.0.1".into(), 26379));
        let plain = topology("redis://10.0.0.1:26379");
        let on = RedisTopology { sentinel_tls: SentinelTls::On, ..plain.clone() };
        assert!(matches!(on.sentinel(&plain.urls().unwrap()[0]).addr, ConnectionAddr::TcpTls { insecure: false, .. }));
    }

    #[test]
    fn debug_shows_no_url_or_password() {
        let t = RedisTopology { sentinel_password: "hunter2".into(), ..topology("redis://:pw@h:1") };
        let shown = format!("{t:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("pw@"), "{shown}");
    }

    #[tokio::test]
    async fn a_standalone_topology_takes_exactly_one_url_and_sentinels_need_a_name() {
        let two = RedisTopology::standalone("redis://127.0.0.1:1,redis://127.0.0.1:2");
        assert!(matches!(two.connect().await, Err(StoreError::Unexpected(_))));
        let nameless = RedisTopology { sentinel_master: String::new(), ..topology("redis://127.0.0.1:1") };
        assert!(matches!(nameless.connect().await, Err(StoreError::Unexpected(_))));
        assert!(matches!(RedisTopology::standalone(" , ").connect().await, Err(StoreError::Unexpected(_))));
    }
}
