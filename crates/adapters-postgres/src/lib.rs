//! resetd's durable stores in PostgreSQL: users, email credentials and reset tokens, password
//! history, Looker API credentials, CIAM clients, the default password policy and the audit
//! trail.
//!
//! [`PgStore`] implements every durable port of `resetd-ports`; each port method is one
//! statement or one transaction, so its guarantees hold across processes sharing the database.
//! Queries are checked at run time (no `DATABASE_URL` or `.sqlx` cache needed to build); rows
//! come back through the domain constructors, so a corrupt row is an error, never an invalid
//! value. `sqlx::Error` never leaves this crate: [`StoreError`] and the ports' typed errors do.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod access;
mod audit;
mod clients;
mod credentials;
mod error;
mod outbox;
mod password;
mod policy;
mod pool;
mod users;

pub use pool::{connect, migrate, ACQUIRE_TIMEOUT, MIGRATOR, PING_IF_IDLE_FOR};
pub use resetd_ports::StoreError;

use sqlx::PgPool;

/// Every durable port on one PostgreSQL pool. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Wraps a pool whose database has been migrated with [`migrate`].
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
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
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(error::store)
    }
}
