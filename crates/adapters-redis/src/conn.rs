//! One connection type over the three topologies: a reconnecting multiplexed connection to one
//! server, a Redis Cluster connection (slot map, `MOVED`/`ASK`, reconnection), or a connection
//! to whichever server the sentinels name as master, found again after a failover.

use std::collections::BTreeSet;

use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, Value};

pub(crate) use crate::sentinel::SentinelConn;

/// A shared handle on the configured topology; cheap to clone, usable wherever the `redis`
/// crate takes an async connection.
#[derive(Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "cloned for every call as the ConnectionManager alone was; a Box would allocate each time"
)]
pub(crate) enum Conn {
    /// One server (`redis.mode = standalone`).
    Single(ConnectionManager),
    /// Redis Cluster (`cluster`).
    Cluster(ClusterConnection),
    /// The master the sentinels name (`sentinel`).
    Sentinel(SentinelConn),
    /// One connection to the master the sentinels named when it was pinned ([`Conn::pin`]).
    Pinned(Pinned),
}

/// A connection to a master that stays the same while the sentinels' choice moves on: a
/// failure still makes the sentinel connection ask them again.
#[derive(Clone)]
pub(crate) struct Pinned {
    number: u64,
    conn: MultiplexedConnection,
    sentinel: SentinelConn,
}

impl Conn {
    /// Whether this is a cluster connection (pipelines then hold commands of one slot only).
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// After a write too few replicas acknowledged: with sentinels, the next command asks
    /// them for the master again (this one may be an old master cut off by a failover).
    pub(crate) fn suspect(&self) {
        match self {
            Self::Sentinel(c) | Self::Pinned(Pinned { sentinel: c, .. }) => c.suspect(),
            Self::Single(_) | Self::Cluster(_) => {}
        }
    }

    /// This connection, pinned to the master the sentinels name now, so that a write and the
    /// `WAIT` after it go over one connection even if a failover moves the master between
    /// them (a `WAIT` on another connection would measure none of this write). Other kinds are
    /// returned as they are.
    pub(crate) async fn pin(&self) -> RedisResult<Self> {
        match self {
            Self::Sentinel(sentinel) => {
                let (number, conn) = sentinel.connection().await?;
                Ok(Self::Pinned(Pinned { number, conn, sentinel: sentinel.clone() }))
            }
            other => Ok(other.clone()),
        }
    }

    /// `PING`s the one server, or every master of a cluster by its address as the cluster
    /// itself lists them now (`CLUSTER SLOTS`), so a master the client stopped routing to after
    /// it failed still counts.
    pub(crate) async fn ping_every_master(&mut self) -> RedisResult<()> {
        let ping = redis::cmd("PING");
        let Self::Cluster(c) = self else {
            return self.req_packed_command(&ping).await.map(drop);
        };
        let slots = redis::cmd("CLUSTER").arg("SLOTS").to_owned();
        let reply = c.route_command(&slots, RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random)).await?;
        let mut masters = BTreeSet::new();
        if let Value::Array(ranges) = reply {
            for range in ranges {
                if let Value::Array(parts) = range {
                    if let Some(Value::Array(master)) = parts.get(2) {
                        let (Some(host), Some(port)) = (master.first(), master.get(1)) else { continue };
                        masters
                            .insert((redis::from_redis_value::<String>(host)?, redis::from_redis_value::<u16>(port)?));
                    }
                }
            }
        }
        if masters.is_empty() {
            return Err(RedisError::from((ErrorKind::ClusterDown, "the cluster lists no master")));
        }
        for (host, port) in masters {
            c.route_command(&ping, RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port })).await?;
        }
        Ok(())
    }

    /// Sends `cmd` (a `WAIT`) to the server that holds `key`'s slot, on the connection that
    /// carried the write before it.
    pub(crate) async fn on_master_of(&mut self, key: &str, cmd: &Cmd) -> RedisResult<Value> {
        match self {
            Self::Cluster(c) => {
                let slot = redis::cluster_routing::get_slot(key.as_bytes());
                let route =
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master)));
                c.route_command(cmd, route).await
            }
            other => other.req_packed_command(cmd).await,
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
            Self::Sentinel(c) => c.req_packed_command(cmd),
            Self::Pinned(c) => Box::pin(async move {
                let answer = c.conn.req_packed_command(cmd).await;
                if let Err(e) = &answer {
                    c.sentinel.after_error(c.number, e);
                }
                answer
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
            Self::Sentinel(c) => c.req_packed_commands(cmd, offset, count),
            Self::Pinned(c) => Box::pin(async move {
                let answer = c.conn.req_packed_commands(cmd, offset, count).await;
                if let Err(e) = &answer {
                    c.sentinel.after_error(c.number, e);
                }
                answer
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
            Self::Sentinel(c) => c.get_db(),
            Self::Pinned(c) => c.conn.get_db(),
        }
    }
}
