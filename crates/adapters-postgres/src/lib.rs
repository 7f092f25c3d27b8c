//! resetd's durable stores in PostgreSQL: users, email credentials and reset tokens, password
//! history, Looker API credentials, CIAM clients, the default password policy and the audit
//! trail.
//!
//! [`PgStore`] implements every durable port of `resetd-ports`; each port method is one
//! statement or one transaction, so its guarantees hold across processes sharing the database.
//! Queries are checked at run time (no `DATABASE_URL` or `.sqlx` cache needed to build); rows
//! come back through the domain constructors, so a corrupt row is an error, never an invalid
//! value. `sqlx::Error` never leaves this crate: [`StoreError`] and the ports' typed errors do.

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

pub use pool::{connect, migrate, ACQUIRE_TIMEOUT, MIGRATOR, PING_IF_IDLE_FOR};
pub use resetd_ports::StoreError;

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;

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

/// Every durable port on one PostgreSQL pool. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// `statement_timeout` of every transaction, in ms (0: none).
    statement_timeout_ms: u64,
}

impl PgStore {
    /// Wraps a pool whose database has been migrated with [`migrate`].
    pub fn new(pool: PgPool) -> Self {
        Self { pool, statement_timeout_ms: 0 }
    }

    /// Sets PostgreSQL's `statement_timeout` in every transaction this store opens, with `SET
    /// LOCAL` semantics (so it also holds through PgBouncer in transaction mode).
    #[must_use]
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Begins a transaction under the configured statement timeout.
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(error::store)?;
        if self.statement_timeout_ms > 0 {
            sqlx::query("SELECT set_config('statement_timeout', $1, true)")
                .bind(format!("{}ms", self.statement_timeout_ms))
                .execute(&mut *tx)
                .await
                .map_err(error::store)?;
        }
        Ok(tx)
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
        within(async { sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(error::store) }).await
    }
}
