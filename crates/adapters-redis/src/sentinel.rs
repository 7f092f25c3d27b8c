//! The master the sentinels name, followed through failovers.
//!
//! The first command asks the sentinels for the master, checks its `ROLE` and connects. The
//! connection is dropped, and the next command asks again, when
//!
//! * a sentinel announces `+switch-master` for our master (a watcher stays subscribed to one
//!   sentinel at a time, moving to the next when it loses it): the watcher connects to the
//!   announced address at once (checking its `ROLE`), so the switch is seen within a round
//!   trip, not when the old master is finally demoted (about ten seconds later, during which it
//!   still answers as a master, and other sentinels may still name it for a moment);
//! * a command fails in a way that may mean a failover: a dropped connection, an I/O error, a
//!   timeout, `READONLY`, `MASTERDOWN`, `NOREPLICAS`;
//! * a write a guarantee rests on is not acknowledged by enough replicas
//!   ([`SentinelConn::suspect`]): an old master cut off from its replicas looks like that.
//!
//! The command that saw the failure fails (the caller answers 503); the next goes to the new
//! master.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use futures::StreamExt as _;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::sentinel::SentinelClient;
use redis::{
    AsyncConnectionConfig, Cmd, ConnectionAddr, ConnectionInfo, ErrorKind, Pipeline, RedisError, RedisFuture,
    RedisResult, Value,
};

/// The pause before the watcher tries the next sentinel.
const WATCH_RETRY: Duration = Duration::from_millis(500);
/// The sentinels' channel announcing a new master: `<name> <old ip> <old port> <new ip> <new port>`.
const SWITCH_MASTER: &str = "+switch-master";

/// A shared multiplexed connection to the master the sentinels name.
#[derive(Clone)]
pub(crate) struct SentinelConn {
    inner: Arc<SentinelInner>,
}

struct SentinelInner {
    client: tokio::sync::Mutex<SentinelClient>,
    config: AsyncConnectionConfig,
    /// How to reach the master (credentials, database, TLS), whatever its address.
    master: ConnectionInfo,
    db: i64,
    /// The current connection and its number (so a failure forgets only the one it saw).
    current: RwLock<Option<(u64, MultiplexedConnection)>>,
    /// The number of the next connection.
    next: AtomicU64,
    /// The `+switch-master` watcher, stopped with the last handle.
    watcher: RwLock<Option<tokio::task::AbortHandle>>,
}

impl Drop for SentinelInner {
    fn drop(&mut self) {
        if let Some(watcher) = self.watcher.get_mut().ok().and_then(Option::take) {
            watcher.abort();
        }
    }
}

impl SentinelConn {
    /// Wraps `client` for the master called `name`, connecting with `config` as `master` says
    /// (its credentials, database and TLS; not its address), and starts watching `sentinels`
    /// for its switches.
    pub(crate) fn new(
        client: SentinelClient,
        config: AsyncConnectionConfig,
        master: ConnectionInfo,
        name: &str,
        sentinels: Vec<ConnectionInfo>,
    ) -> Self {
        let inner = Arc::new(SentinelInner {
            client: tokio::sync::Mutex::new(client),
            config,
            db: master.redis.db,
            master,
            current: RwLock::new(None),
            next: AtomicU64::new(0),
            watcher: RwLock::new(None),
        });
        let watcher = tokio::spawn(watch(Arc::downgrade(&inner), name.to_owned(), sentinels));
        if let Ok(mut slot) = inner.watcher.write() {
            *slot = Some(watcher.abort_handle());
        }
        Self { inner }
    }

    fn cached(&self) -> Option<(u64, MultiplexedConnection)> {
        self.inner.current.read().ok().and_then(|c| c.clone())
    }

    /// The current master connection, asking the sentinels when there is none.
    pub(crate) async fn connection(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        if let Some(current) = self.cached() {
            return Ok(current);
        }
        let mut client = self.inner.client.lock().await;
        if let Some(current) = self.cached() {
            return Ok(current); // another task connected while this one waited
        }
        let conn = client.get_async_connection_with_config(&self.inner.config).await?;
        let number = self.inner.next.fetch_add(1, Ordering::Relaxed);
        *self.inner.current.write().map_err(|_| poisoned())? = Some((number, conn.clone()));
        Ok((number, conn))
    }

    /// Drops the current connection, whichever it is: the next command asks the sentinels.
    pub(crate) fn suspect(&self) {
        self.inner.forget(None, "a write was not acknowledged by enough replicas");
    }

    /// Forgets connection `number` after `e`, if `e` may mean the master moved.
    fn after_error(&self, number: u64, e: &RedisError) {
        let moved = e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_timeout()
            || matches!(e.kind(), ErrorKind::ReadOnly | ErrorKind::MasterDown)
            || crate::error::is_cut_off(e);
        if moved {
            self.inner.forget(Some(number), "the master connection failed");
        }
    }
}

impl SentinelInner {
    /// Connects to the master a sentinel announced at `host:port`, checks that it is one, and
    /// makes it the current connection.
    async fn switch_to(&self, host: &str, port: u16) -> RedisResult<()> {
        let _connecting = self.client.lock().await;
        let mut info = self.master.clone();
        info.addr = match info.addr {
            ConnectionAddr::TcpTls { insecure, tls_params, .. } => {
                ConnectionAddr::TcpTls { host: host.to_owned(), port, insecure, tls_params }
            }
            _ => ConnectionAddr::Tcp(host.to_owned(), port),
        };
        let mut conn = redis::Client::open(info)?.get_multiplexed_async_connection_with_config(&self.config).await?;
        let role: Vec<Value> = redis::cmd("ROLE").query_async(&mut conn).await?;
        if !matches!(role.first(), Some(Value::BulkString(r)) if r == b"master") {
            return Err(RedisError::from((ErrorKind::ClientError, "the announced master is not one")));
        }
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        *self.current.write().map_err(|_| poisoned())? = Some((number, conn));
        Ok(())
    }

    /// Drops the current connection (only if it is `number`, when given).
    fn forget(&self, number: Option<u64>, why: &'static str) {
        if let Ok(mut slot) = self.current.write() {
            if slot.as_ref().is_some_and(|(n, _)| number.is_none_or(|number| *n == number)) {
                *slot = None;
                drop(slot);
                tracing::warn!(why, "asking the Redis sentinels for the master again");
            }
        }
    }
}

/// Listens to one sentinel after another for `+switch-master` of `master`, until the
/// connection it serves is gone.
async fn watch(inner: Weak<SentinelInner>, master: String, sentinels: Vec<ConnectionInfo>) {
    for sentinel in sentinels.iter().cycle() {
        if inner.strong_count() == 0 {
            return;
        }
        if let Err(e) = listen(&inner, &master, sentinel).await {
            tracing::debug!(kind = ?e.kind(), "lost a Redis sentinel's announcements; trying the next");
        }
        tokio::time::sleep(WATCH_RETRY).await;
    }
}

/// Subscribes to one sentinel's `+switch-master` and forgets the master connection at each
/// switch of `master`; returns when the subscription ends.
async fn listen(inner: &Weak<SentinelInner>, master: &str, sentinel: &ConnectionInfo) -> RedisResult<()> {
    let client = redis::Client::open(sentinel.clone())?;
    let connecting = tokio::time::timeout(crate::topology::CONNECT_TIMEOUT, client.get_async_pubsub()).await;
    let mut pubsub = connecting.map_err(|_| RedisError::from((ErrorKind::IoError, "sentinel connect timeout")))??;
    pubsub.subscribe(SWITCH_MASTER).await?;
    // A switch while this watcher was not listening is caught by asking again now.
    forget_all(inner);
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let payload: String = message.get_payload()?;
        // `<name> <old ip> <old port> <new ip> <new port>`
        let fields: Vec<&str> = payload.split(' ').collect();
        if fields.first() != Some(&master) {
            continue;
        }
        forget_all(inner);
        if let (Some(host), Some(Ok(port)), Some(inner)) =
            (fields.get(3), fields.get(4).map(|p| p.parse::<u16>()), inner.upgrade())
        {
            if let Err(e) = inner.switch_to(host, port).await {
                tracing::warn!(kind = ?e.kind(), "could not reach the announced Redis master; asking the sentinels");
            }
        }
    }
    Err(RedisError::from((ErrorKind::IoError, "the sentinel closed the subscription")))
}

fn forget_all(inner: &Weak<SentinelInner>) {
    if let Some(inner) = inner.upgrade() {
        inner.forget(None, "a sentinel announced a new master");
    }
}

fn poisoned() -> RedisError {
    RedisError::from((ErrorKind::ClientError, "the sentinel connection's lock is poisoned"))
}

impl ConnectionLike for SentinelConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let (number, mut conn) = self.connection().await?;
            let answer = conn.req_packed_command(cmd).await;
            if let Err(e) = &answer {
                self.after_error(number, e);
            }
            answer
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let (number, mut conn) = self.connection().await?;
            let answer = conn.req_packed_commands(cmd, offset, count).await;
            if let Err(e) = &answer {
                self.after_error(number, e);
            }
            answer
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.db
    }
}
