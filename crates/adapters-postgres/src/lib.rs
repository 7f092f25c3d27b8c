//! resetd's durable stores in PostgreSQL: users, email credentials and reset tokens, password
//! history, Looker API credentials, CIAM clients, the default password policy and the audit
//! trail.
//!
//! [`PgStore`] implements every durable port of `resetd-ports`; each port method is one
//! statement or one transaction, so its guarantees hold across processes sharing the database.
//! Queries are checked at run time (no `DATABASE_URL` or `.sqlx` cache needed to build); rows
//! come back through the domain constructors, so a corrupt row is an error, never an invalid
//! value. `sqlx::Error` never leaves this crate: [`StoreError`] and the ports' typed errors do.
//!
//! # Behind PgBouncer in transaction mode
//!
//! sqlx sends a statement as Parse + Describe + Sync, waits, then Bind + Execute + Sync; a
//! pooler in transaction mode may hand the second half to another server connection once the
//! first Sync leaves it idle, where the statement is missing or, worse, is another client's.
//! With the statement cache off ([`connect_with`] and [`PgStore::with_statement_cache`]), no
//! statement is named and every port call runs inside an explicit transaction, so both halves
//! reach the server that parsed it; session state is only ever `SET LOCAL`. That costs a
//! `BEGIN` and a `COMMIT` round trip per single-statement call, so the cache stays on (and
//! single statements are sent bare) whenever resetd talks to PostgreSQL directly or through a
//! session-mode pooler. Migrations take a session-level advisory lock: run them directly
//! ([`migrate_at`]).

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod access;
mod audit;
mod clients;
mod credentials;
mod error;
mod keys;
mod outbox;
mod password;
mod policy;
mod pool;
mod users;

pub use pool::{connect, connect_with, migrate, migrate_at, ACQUIRE_TIMEOUT, MIGRATOR, PING_IF_IDLE_FOR};
pub use resetd_ports::StoreError;

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{FromRow, PgConnection, PgPool, Postgres, Transaction};

/// How long one port call may take, getting a connection included, unless the request's
/// backend budget ends sooner ([`resetd_ports::budget`]); past it the call is
/// [`StoreError::Unavailable`], whether the server refused (at once) or hangs.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs one port call under [`CALL_TIMEOUT`] and the request's backend budget. A call cut
/// short drops its connection, and with it any transaction it held (rolled back).
async fn within<T, E: From<StoreError>>(call: impl Future<Output = Result<T, E>>) -> Result<T, E> {
    match resetd_ports::budget::call(CALL_TIMEOUT, call).await {
        Some(result) => result,
        None => Err(StoreError::unavailable("PostgreSQL did not answer within the backend budget").into()),
    }
}

/// PostgreSQL's largest `statement_timeout` (`INT_MAX` ms, some 24 days).
const MAX_STATEMENT_TIMEOUT_MS: u64 = 2_147_483_647;

/// Every durable port on one PostgreSQL pool. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// `statement_timeout` of every transaction, in ms (0: none).
    statement_timeout_ms: u64,
    /// Off: every port call runs in a transaction ([`PgStore::with_statement_cache`]).
    statement_cache: bool,
}

impl PgStore {
    /// Wraps a pool whose database has been migrated with [`migrate`].
    pub fn new(pool: PgPool) -> Self {
        Self { pool, statement_timeout_ms: 0, statement_cache: true }
    }

    /// Sets PostgreSQL's `statement_timeout` in every transaction this store opens, with `SET
    /// LOCAL` semantics (so it also holds through PgBouncer in transaction mode).
    #[must_use]
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Whether statements are prepared as named statements kept in each connection's cache
    /// (the default); set it as the pool was opened with [`connect_with`]. Off (behind PgBouncer
    /// in transaction mode), statements are unnamed and every port call runs inside a
    /// transaction, single statements too (see the crate documentation).
    #[must_use]
    pub fn with_statement_cache(mut self, on: bool) -> Self {
        self.statement_cache = on;
        self
    }

    /// Begins a transaction under the configured statement timeout, in one round trip.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let tx = match self.statement_timeout_ms.min(MAX_STATEMENT_TIMEOUT_MS) {
            0 => self.pool.begin().await,
            ms => self.pool.begin_with(format!("BEGIN; SET LOCAL statement_timeout = {ms}")).await,
        };
        tx.map_err(error::store)
    }

    /// `sqlx::query` as this store sends it: a named statement, kept in the connection's
    /// statement cache, with the cache on; the unnamed statement with it off (sqlx names a
    /// statement even with a cache of capacity 0, and never closes it).
    pub(crate) fn query<'q>(&self, sql: &'q str) -> Query<'q, Postgres, PgArguments> {
        sqlx::query(sql).persistent(self.statement_cache)
    }

    /// `sqlx::query_as`, prepared as in [`PgStore::query`].
    pub(crate) fn query_as<'q, O>(&self, sql: &'q str) -> QueryAs<'q, Postgres, O, PgArguments>
    where
        O: for<'r> FromRow<'r, PgRow>,
    {
        sqlx::query_as(sql).persistent(self.statement_cache)
    }

    /// `sqlx::query_scalar`, prepared as in [`PgStore::query`].
    pub(crate) fn query_scalar<'q, O>(&self, sql: &'q str) -> QueryScalar<'q, Postgres, O, PgArguments>
    where
        (O,): for<'r> FromRow<'r, PgRow>,
    {
        sqlx::query_scalar(sql).persistent(self.statement_cache)
    }

    /// Where one port call runs its statement(s): a pooled connection with the statement cache
    /// on, a transaction from [`PgStore::begin`] with it off. [`Conn::finish`] ends it.
    pub(crate) async fn conn(&self) -> Result<Conn, StoreError> {
        if self.statement_cache {
            Ok(Conn::Pooled(self.pool.acquire().await.map_err(error::store)?))
        } else {
            Ok(Conn::Transaction(self.begin().await?))
        }
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether the database answers (readiness).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had in time.
    pub async fn ping(&self) -> Result<(), StoreError> {
        within(async {
            let mut conn = self.conn().await?;
            self.query("SELECT 1").execute(&mut *conn).await.map_err(error::store)?;
            conn.finish().await
        })
        .await
    }
}

/// The connection of one port call ([`PgStore::conn`]); dropped without [`Conn::finish`], a
/// transaction rolls back.
#[derive(Debug)]
pub(crate) enum Conn {
    /// The statement cache is on: statements go out as they are.
    Pooled(PoolConnection<Postgres>),
    /// The statement cache is off: the call's statements share one transaction.
    Transaction(Transaction<'static, Postgres>),
}

impl Conn {
    /// Ends the call: commits its transaction, if it has one.
    pub(crate) async fn finish(self) -> Result<(), StoreError> {
        match self {
            Self::Pooled(_) => Ok(()),
            Self::Transaction(tx) => tx.commit().await.map_err(error::store),
        }
    }
}

impl Deref for Conn {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Transaction(tx) => tx,
        }
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Transaction(tx) => tx,
        }
    }
}
