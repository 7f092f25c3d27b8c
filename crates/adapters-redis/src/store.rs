//! The store over one connection to the configured topology ([`crate::topology`]), the
//! deadline every operation runs under, and the replica acknowledgement of the writes a
//! guarantee rests on.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::RedisResult;
use resetd_ports::StoreError;

use crate::conn::Conn;
use crate::lanes::{Lane, Lanes};
use crate::topology::RedisTopology;
use crate::{error, keys};
/// The deadline of one whole operation, reconnecting included, unless the request's backend
/// budget ends sooner ([`resetd_ports::budget`]): past it the caller gets
/// [`StoreError::Unavailable`] rather than waiting on.
const DEADLINE: Duration = Duration::from_secs(1);
/// Connections of their own for the writes that wait for replicas ([`crate::lanes`]).
const LANES: usize = 4;

/// OTP challenges, rate-limit windows, access-token and login sessions and login lockouts in
/// one Redis: a server, a Redis Cluster, or a master behind sentinels ([`RedisTopology`]).
///
/// Cheap to clone (the connection is shared and multiplexed; with `redis.wait_replicas` set,
/// the writes that wait for replicas go over a few lanes of their own). Every key starts with the
/// configured prefix, so several deployments (or test runs) can share one Redis.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    prefix: String,
    /// Replicas that must acknowledge a guarantee's write, for how long to wait (ms), and the
    /// connections such writes go over.
    wait: Option<(u32, u64, Arc<Lanes>)>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://[user:password@]host:port[/db]`, or `rediss://` when the
    /// client is built with TLS) and prefixes every key with `prefix` (e.g. `resetd:`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached within about two seconds;
    /// [`StoreError::Unexpected`] for a malformed URL or a prefix with `{` or `}` (it would
    /// break the keys' Cluster hash tags).
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        Self::connect_to(&RedisTopology::standalone(url), prefix).await
    }

    /// Connects to `topology` (see [`RedisTopology`]) and prefixes every key with `prefix`.
    ///
    /// # Errors
    /// As [`RedisStore::connect`]; also [`StoreError::Unexpected`] for a topology that does not
    /// add up (several URLs for one server, sentinels without a master name).
    pub async fn connect_to(topology: &RedisTopology, prefix: &str) -> Result<Self, StoreError> {
        if !keys::valid_prefix(prefix) {
            return Err(StoreError::unexpected("the Redis key prefix must not contain '{' or '}'"));
        }
        let conn = match tokio::time::timeout(2 * DEADLINE, topology.connect()).await {
            Ok(conn) => conn?,
            Err(_) => return Err(StoreError::unavailable("Redis could not be reached in time")),
        };
        let wait = if topology.wait_replicas > 0 {
            let timeout_ms = u64::try_from(topology.wait_timeout.as_millis()).unwrap_or(u64::MAX).max(1);
            let lanes = Lanes::connect(topology, LANES, Duration::from_millis(timeout_ms));
            let lanes = match tokio::time::timeout(2 * DEADLINE, lanes).await {
                Ok(lanes) => lanes?,
                Err(_) => return Err(StoreError::unavailable("Redis could not be reached in time")),
            };
            Some((topology.wait_replicas, timeout_ms, lanes))
        } else {
            None
        };
        Ok(Self { conn, prefix: prefix.to_owned(), wait })
    }

    /// Round-trips a `PING`, to every master of a cluster, and asks a cluster whether it
    /// serves every slot (readiness checks).
    ///
    /// # Errors
    /// [`StoreError`] when Redis does not answer in time.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn();
        deadline(conn.ping_every_master()).await?;
        if self.is_cluster() {
            // Every node answering is not enough: a cluster missing a node refuses its slots
            // (and, once the others notice, every slot) while the rest still answer PING.
            let info: String = deadline(redis::cmd("CLUSTER").arg("INFO").query_async(&mut conn)).await?;
            if !info.lines().any(|l| l.trim() == "cluster_state:ok") {
                return Err(StoreError::unavailable("the Redis cluster's state is not ok"));
            }
        }
        Ok(())
    }

    /// The connection for a write a guarantee rests on, to be followed by
    /// [`RedisStore::replicated`] on the same lane.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when every lane stays busy past the deadline.
    pub(crate) async fn lane(&self) -> Result<Lane, StoreError> {
        match &self.wait {
            Some((_, _, lanes)) => lanes.take(DEADLINE).await,
            None => Ok(Lane::shared(self.conn())),
        }
    }

    /// Makes a write a guarantee rests on survive a failover: with `redis.wait_replicas` set,
    /// `WAIT`s (on the lane the write went over, to the master holding `key`) until that many
    /// replicas have it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when fewer replicas acknowledged it in time: the write is on
    /// the master but may not outlive it, so the request must not report success.
    pub(crate) async fn replicated(&self, lane: &Lane, key: &str) -> Result<(), StoreError> {
        let Some((replicas, timeout_ms, _)) = self.wait else {
            return Ok(());
        };
        let mut conn = lane.conn();
        let wait = redis::cmd("WAIT").arg(replicas).arg(timeout_ms).to_owned();
        // Whatever stops the `WAIT` leaves the write's fate unknown: an outage, never a fault
        // (during a cluster failover it may reach a node that has just become a replica).
        let acknowledged = lane.wait(conn.on_master_of(key, &wait)).await?.map_err(StoreError::unavailable)?;
        match redis::from_redis_value::<u32>(&acknowledged) {
            Ok(n) if n >= replicas => Ok(()),
            Ok(_) => {
                lane.suspect();
                Err(StoreError::unavailable("a Redis write was not acknowledged by enough replicas in time"))
            }
            Err(e) => Err(error::map(e)),
        }
    }

    /// Whether pipelines must stay within one slot (Redis Cluster).
    pub(crate) fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    /// A handle on the shared connection.
    pub(crate) fn conn(&self) -> Conn {
        self.conn.clone()
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// Runs one Redis operation under [`DEADLINE`] and maps its error.
pub(crate) async fn deadline<T>(op: impl Future<Output = RedisResult<T>>) -> Result<T, StoreError> {
    deadline_raw(op).await?.map_err(error::map)
}

/// Runs one Redis operation under [`DEADLINE`] and the request's backend budget, leaving
/// Redis's own error to the caller.
pub(crate) async fn deadline_raw<T>(op: impl Future<Output = RedisResult<T>>) -> Result<RedisResult<T>, StoreError> {
    resetd_ports::budget::call(DEADLINE, op)
        .await
        .ok_or_else(|| StoreError::unavailable("Redis did not answer within the backend budget"))
}
