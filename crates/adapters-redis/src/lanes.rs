//! Connections of their own for the writes that wait for replicas.
//!
//! `WAIT` blocks the connection it is sent on until the replicas acknowledge or it times out.
//! On the shared multiplexed connection it would hold up every other command of the process (a
//! replica down would slow every Redis call to the wait timeout), and it would measure the
//! writes of whoever else wrote there. So with `redis.wait_replicas` set, a write a guarantee
//! rests on and its `WAIT` go over one [`Lane`], held by that request alone: a few more
//! connections to the topology, each reconnecting on its own. Through sentinels a lane is
//! pinned to one master connection while it is held ([`Conn::pin`]), so a failover between the
//! write and its `WAIT` cannot send the `WAIT` to the new master, which would answer for writes
//! it never had. (A cluster lane routes the `WAIT` by slot, so a failover in that instant can
//! still do so; a lone server with replicas has no failover of its own.)

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::RedisResult;
use resetd_ports::StoreError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::conn::Conn;
use crate::store::deadline_raw;
use crate::topology::RedisTopology;

/// The lanes of one store.
pub(crate) struct Lanes {
    free: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    /// The longest a `WAIT` can block a lane.
    wait_timeout: Duration,
}

impl Lanes {
    /// `count` more connections to `topology`, whose `WAIT`s time out after `wait_timeout`.
    pub(crate) async fn connect(
        topology: &RedisTopology,
        count: usize,
        wait_timeout: Duration,
    ) -> Result<Arc<Self>, StoreError> {
        let conns = futures::future::try_join_all((0..count).map(|_| topology.connect())).await?;
        let permits = Arc::new(Semaphore::new(conns.len()));
        Ok(Arc::new(Self { free: Mutex::new(conns), permits, wait_timeout }))
    }

    /// A free lane, waiting for one at most `patience` (and the request's backend budget).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when every lane stays busy that long.
    pub(crate) async fn take(self: &Arc<Self>, patience: Duration) -> Result<Lane, StoreError> {
        let permit = resetd_ports::budget::call(patience, self.permits.clone().acquire_owned())
            .await
            .ok_or_else(|| StoreError::unavailable("every Redis lane for replicated writes stayed busy"))?
            .map_err(StoreError::unexpected)?;
        let home = self.free.lock().ok().and_then(|mut free| free.pop());
        let home = home.ok_or_else(|| StoreError::unexpected("a Redis lane was missing"))?;
        let mut lane =
            Lane { conn: home.clone(), held: Some((self.clone(), permit, home)), waiting: AtomicUsize::new(0) };
        // Pinned once the lane is held, so that a failure to pin gives it back.
        lane.conn = deadline_raw(lane.conn.pin()).await?.map_err(crate::error::map)?;
        Ok(lane)
    }

    /// Puts `conn` back, then lets the next taker in (`permit`).
    fn give_back(&self, conn: Conn, permit: OwnedSemaphorePermit) {
        if let Ok(mut free) = self.free.lock() {
            free.push(conn);
        }
        drop(permit);
    }
}

/// The connection a write a guarantee rests on goes over: a lane of its own while
/// `redis.wait_replicas` is set (given back when dropped), else the shared connection.
pub(crate) struct Lane {
    /// What the lane's commands go over: its connection, pinned to one master ([`Conn::pin`]).
    conn: Conn,
    /// The lanes, the permit and the connection to give back.
    held: Option<(Arc<Lanes>, OwnedSemaphorePermit, Conn)>,
    /// `WAIT`s sent on this lane that have not answered (cancelled with their request).
    waiting: AtomicUsize,
}

impl Lane {
    /// The shared connection, when no write waits for replicas.
    pub(crate) fn shared(conn: Conn) -> Self {
        Self { conn, held: None, waiting: AtomicUsize::new(0) }
    }

    /// A handle on the lane's connection (clones share it).
    pub(crate) fn conn(&self) -> Conn {
        self.conn.clone()
    }

    /// Runs `wait` (a `WAIT` on this lane) under the deadline. One that does not answer in
    /// time still blocks the lane on the server, so the lane is given back only once the
    /// `WAIT`'s own timeout has passed.
    pub(crate) async fn wait<T>(
        &self,
        wait: impl Future<Output = RedisResult<T>>,
    ) -> Result<RedisResult<T>, StoreError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let answer = deadline_raw(wait).await;
        if answer.is_ok() {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
        }
        answer
    }

    /// After a shortfall of replicas: with sentinels, the lane asks them for the master again.
    pub(crate) fn suspect(&self) {
        self.conn.suspect();
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        let Some((lanes, permit, conn)) = self.held.take() else { return };
        let blocked = *self.waiting.get_mut() > 0;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if blocked => {
                runtime.spawn(async move {
                    tokio::time::sleep(lanes.wait_timeout).await;
                    lanes.give_back(conn, permit);
                });
            }
            _ => lanes.give_back(conn, permit),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use redis::aio::ConnectionLike as _;

    use super::*;

    /// `WAIT 1 300` on a server without replicas: it blocks its connection for 300 ms.
    async fn lanes() -> Arc<Lanes> {
        let topology = RedisTopology::standalone(&resetd_test_support::shared_redis_url());
        Lanes::connect(&topology, 1, Duration::from_millis(300)).await.unwrap()
    }

    fn wait() -> redis::Cmd {
        redis::cmd("WAIT").arg(1).arg(300).to_owned()
    }

    #[tokio::test]
    async fn a_lane_whose_wait_was_cut_short_rests_until_the_wait_has_timed_out() {
        let lanes = lanes().await;
        let lane = lanes.take(Duration::from_secs(1)).await.unwrap();
        let (mut conn, cmd) = (lane.conn(), wait());
        let cut = tokio::time::timeout(Duration::from_millis(50), lane.wait(conn.req_packed_command(&cmd))).await;
        assert!(cut.is_err(), "the request gave up first");
        drop(lane);
        let asked = Instant::now();
        let _again = lanes.take(Duration::from_secs(1)).await.unwrap();
        assert!(asked.elapsed() >= Duration::from_millis(200), "taken back after {:?}", asked.elapsed());
    }

    #[tokio::test]
    async fn a_lane_whose_wait_answered_is_free_at_once() {
        let lanes = lanes().await;
        let lane = lanes.take(Duration::from_secs(1)).await.unwrap();
        let (mut conn, cmd) = (lane.conn(), wait());
        let answered = lane.wait(conn.req_packed_command(&cmd)).await.unwrap().unwrap();
        assert_eq!(answered, redis::Value::Int(0), "no replica acknowledged");
        drop(lane);
        let asked = Instant::now();
        let _again = lanes.take(Duration::from_secs(1)).await.unwrap();
        assert!(asked.elapsed() < Duration::from_millis(100), "taken back after {:?}", asked.elapsed());
    }
}
