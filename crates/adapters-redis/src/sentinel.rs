//! The master the sentinels name, followed through failovers.
//!
//! The first command asks every sentinel at once for the master's address (each within the
//! connect and response timeouts, so a sentinel that is down, frozen or cut off delays nothing
//! while the others answer), connects to the address more than half of them name as soon as
//! they do, checks that its `ROLE` is master, and keeps that connection. It is dropped, and the
//! next command asks again, when
//!
//! * a sentinel announces `+switch-master` for our master (a watcher per sentinel stays
//!   subscribed, reconnecting when it loses its sentinel): the watcher connects to the
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
use redis::{
    AsyncConnectionConfig, Cmd, ConnectionAddr, ConnectionInfo, ErrorKind, Pipeline, RedisError, RedisFuture,
    RedisResult, Value,
};

/// The pause before a watcher subscribes again to a sentinel it lost.
const WATCH_RETRY: Duration = Duration::from_millis(500);
/// The sentinels' channel announcing a new master: `<name> <old ip> <old port> <new ip> <new port>`.
const SWITCH_MASTER: &str = "+switch-master";

/// A shared multiplexed connection to the master the sentinels name.
#[derive(Clone)]
pub(crate) struct SentinelConn {
    inner: Arc<SentinelInner>,
}

struct SentinelInner {
    /// Held while connecting, so that one task asks the sentinels and the others wait for it.
    connecting: tokio::sync::Mutex<()>,
    /// How to reach each sentinel.
    sentinels: Vec<ConnectionInfo>,
    /// The master's name at the sentinels.
    name: String,
    config: AsyncConnectionConfig,
    /// How to reach the master (credentials, database, TLS), whatever its address.
    master: ConnectionInfo,
    db: i64,
    /// The current connection, its number (so a failure forgets only the one it saw) and the
    /// master's address.
    current: RwLock<Option<Current>>,
    /// The number of the next connection.
    next: AtomicU64,
    /// The `+switch-master` watchers, one per sentinel, stopped with the last handle.
    watchers: RwLock<Vec<tokio::task::AbortHandle>>,
}

#[derive(Clone)]
struct Current {
    number: u64,
    conn: MultiplexedConnection,
    addr: (String, u16),
}

impl Drop for SentinelInner {
    fn drop(&mut self) {
        if let Ok(watchers) = self.watchers.get_mut() {
            watchers.drain(..).for_each(|w| w.abort());
        }
    }
}

impl SentinelConn {
    /// A connection to the master the `sentinels` know as `name`, made with `config` as
    /// `master` says (its credentials, database and TLS; not its address); starts watching
    /// every sentinel for its switches. Connects at the first command.
    pub(crate) fn new(
        sentinels: Vec<ConnectionInfo>,
        name: &str,
        config: AsyncConnectionConfig,
        master: ConnectionInfo,
    ) -> Self {
        let inner = Arc::new(SentinelInner {
            connecting: tokio::sync::Mutex::new(()),
            sentinels: sentinels.clone(),
            name: name.to_owned(),
            config,
            db: master.redis.db,
            master,
            current: RwLock::new(None),
            next: AtomicU64::new(0),
            watchers: RwLock::new(Vec::new()),
        });
        let watchers = sentinels
            .into_iter()
            .map(|sentinel| tokio::spawn(watch(Arc::downgrade(&inner), name.to_owned(), sentinel)).abort_handle());
        if let Ok(mut slot) = inner.watchers.write() {
            slot.extend(watchers);
        }
        Self { inner }
    }

    fn cached(&self) -> Option<(u64, MultiplexedConnection)> {
        self.inner.current.read().ok().and_then(|c| c.as_ref().map(|c| (c.number, c.conn.clone())))
    }

    /// The current master connection, asking the sentinels when there is none.
    pub(crate) async fn connection(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        if let Some(current) = self.cached() {
            return Ok(current);
        }
        let _connecting = self.inner.connecting.lock().await;
        if let Some(current) = self.cached() {
            return Ok(current); // another task connected while this one waited
        }
        let (conn, addr) = self.inner.find_master().await?;
        self.inner.install(conn, addr)
    }

    /// Drops the current connection, whichever it is: the next command asks the sentinels.
    pub(crate) fn suspect(&self) {
        self.inner.forget(None, "a write was not acknowledged by enough replicas");
    }

    /// Forgets connection `number` after `e`, if `e` may mean the master moved.
    pub(crate) fn after_error(&self, number: u64, e: &RedisError) {
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
    /// Asks every sentinel at once which address the master has, and connects to the address
    /// more than half of them name, as soon as they do, if it answers as a master. Sentinels
    /// disagree for a moment during a failover (and the old master still answers as one for
    /// about ten seconds), so one sentinel's word is not enough.
    async fn find_master(&self) -> RedisResult<(MultiplexedConnection, (String, u16))> {
        let mut asks: futures::stream::FuturesUnordered<_> = self.sentinels.iter().map(|s| self.ask(s)).collect();
        let mut votes: Vec<((String, u16), usize)> = Vec::new();
        let mut last = None;
        while let Some(answer) = asks.next().await {
            let addr = match answer {
                Ok(addr) => addr,
                Err(e) => {
                    last = Some(e.kind());
                    continue;
                }
            };
            let count = match votes.iter_mut().find(|(a, _)| *a == addr) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    votes.push((addr.clone(), 1));
                    1
                }
            };
            if 2 * count > self.sentinels.len() {
                drop(asks);
                return Ok((self.connect_master(&addr.0, addr.1).await?, addr));
            }
        }
        Err(RedisError::from((
            ErrorKind::IoError,
            "no master named by more than half of the sentinels",
            format!("{}: {} named, the last failure {last:?}", self.name, votes.len()),
        )))
    }

    /// The master's address as `sentinel` names it.
    async fn ask(&self, sentinel: &ConnectionInfo) -> RedisResult<(String, u16)> {
        let client = redis::Client::open(sentinel.clone())?;
        let mut conn = client.get_multiplexed_async_connection_with_config(&self.config).await?;
        let named: Option<(String, u16)> =
            redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(&self.name).query_async(&mut conn).await?;
        named.ok_or_else(|| RedisError::from((ErrorKind::ClientError, "the sentinel knows no such master")))
    }

    /// Connects to `host:port` as the master and checks that it is one.
    async fn connect_master(&self, host: &str, port: u16) -> RedisResult<MultiplexedConnection> {
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
            return Err(RedisError::from((ErrorKind::ClientError, "the named master is not one")));
        }
        Ok(conn)
    }

    /// Makes `conn` (to the master at `addr`) the current connection.
    fn install(&self, conn: MultiplexedConnection, addr: (String, u16)) -> RedisResult<(u64, MultiplexedConnection)> {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        *self.current.write().map_err(|_| poisoned())? = Some(Current { number, conn: conn.clone(), addr });
        Ok((number, conn))
    }

    /// Leaves the current connection unless it goes to `host:port`, where a sentinel announced
    /// the master (every sentinel announces the same switch), and connects there, checking
    /// that it is a master.
    async fn switch_to(&self, host: &str, port: u16) -> RedisResult<()> {
        let there = |c: &Current| c.addr.0 == host && c.addr.1 == port;
        if self.current.read().map_err(|_| poisoned())?.as_ref().is_some_and(there) {
            return Ok(());
        }
        self.forget(None, "a sentinel announced a new master");
        let _connecting = self.connecting.lock().await;
        if self.current.read().map_err(|_| poisoned())?.as_ref().is_some_and(there) {
            return Ok(()); // another watcher moved there meanwhile
        }
        let conn = self.connect_master(host, port).await?;
        self.install(conn, (host.to_owned(), port)).map(drop)
    }

    /// Drops the current connection (only if it is `number`, when given).
    fn forget(&self, number: Option<u64>, why: &'static str) {
        if let Ok(mut slot) = self.current.write() {
            if slot.as_ref().is_some_and(|c| number.is_none_or(|number| c.number == number)) {
                *slot = None;
                drop(slot);
                tracing::warn!(why, "asking the Redis sentinels for the master again");
            }
        }
    }
}

/// Listens to `sentinel` for `+switch-master` of `master`, subscribing again whenever it loses
/// it, until the connection it serves is gone.
async fn watch(inner: Weak<SentinelInner>, master: String, sentinel: ConnectionInfo) {
    let mut again = false;
    while inner.strong_count() > 0 {
        if let Err(e) = listen(&inner, &master, &sentinel, again).await {
            tracing::debug!(kind = ?e.kind(), "lost a Redis sentinel's announcements; subscribing again");
        }
        again = true;
        tokio::time::sleep(WATCH_RETRY).await;
    }
}

/// Subscribes to one sentinel's `+switch-master` and moves to the announced master at each
/// switch of `master`; returns when the subscription ends.
async fn listen(inner: &Weak<SentinelInner>, master: &str, sentinel: &ConnectionInfo, again: bool) -> RedisResult<()> {
    let client = redis::Client::open(sentinel.clone())?;
    let connecting = tokio::time::timeout(crate::topology::CONNECT_TIMEOUT, client.get_async_pubsub()).await;
    let mut pubsub = connecting.map_err(|_| RedisError::from((ErrorKind::IoError, "sentinel connect timeout")))??;
    pubsub.subscribe(SWITCH_MASTER).await?;
    if again {
        // A switch while this watcher was not listening is caught by asking again now.
        forget_all(inner);
    }
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let payload: String = message.get_payload()?;
        // `<name> <old ip> <old port> <new ip> <new port>`
        let fields: Vec<&str> = payload.split(' ').collect();
        if fields.first() != Some(&master) {
            continue;
        }
        let (Some(host), Some(Ok(port))) = (fields.get(3), fields.get(4).map(|p| p.parse::<u16>())) else {
            forget_all(inner);
            continue;
        };
        let Some(inner) = inner.upgrade() else { break };
        if let Err(e) = inner.switch_to(host, port).await {
            tracing::warn!(kind = ?e.kind(), "could not reach the announced Redis master; asking the sentinels");
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
