//! Opening the pool and applying the embedded migrations.

use std::str::FromStr as _;
use std::time::Duration;

use resetd_ports::StoreError;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::error;

/// The schema, from the workspace's top-level `migrations/` (forward-only).
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// How long getting a connection may take, connecting included: an unreachable database
/// fails within this time instead of hanging.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A pooled connection idle for longer than this is pinged before it is handed out; one used
/// more recently is handed out as it is. Pinging every time (sqlx's default) would add a round
/// trip to every query under load, where connections are never idle for long; a connection
/// that broke anyway fails its query, is dropped by the pool, and the caller answers 503.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Opens a pool of up to `max_connections` and checks that one connection can be made.
///
/// # Errors
/// [`StoreError::Unavailable`] when the database cannot be reached within
/// [`ACQUIRE_TIMEOUT`]; [`StoreError::Unexpected`] for a malformed URL or a refused login.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, StoreError> {
    connect_with(url, max_connections, true).await
}

/// [`connect`], choosing whether connections keep named prepared statements. Switch the cache
/// off behind PgBouncer in transaction mode (with [`PgStore::with_statement_cache`] on the
/// store): statements then stay unnamed, and the connection asks for no startup parameter
/// beyond the ones PgBouncer tracks (`client_encoding`, `DateStyle`, `TimeZone`,
/// `application_name`), so it needs no `ignore_startup_parameters` (resetd reads no float in
/// text, where `extra_float_digits` would matter).
///
/// # Errors
/// As [`connect`].
///
/// [`PgStore::with_statement_cache`]: crate::PgStore::with_statement_cache
pub async fn connect_with(url: &str, max_connections: u32, statement_cache: bool) -> Result<PgPool, StoreError> {
    let mut options = PgConnectOptions::from_str(url).map_err(error::store)?.application_name("resetd");
    if !statement_cache {
        options = options.statement_cache_capacity(0).extra_float_digits(None);
    }
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IF_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .map_err(error::store)
}

/// [`migrate`] through a pool of its own, of one connection to `url`, closed afterwards. Give
/// it PostgreSQL itself (or a pooler in session mode): the migrations hold a session-level
/// advisory lock, which PgBouncer in transaction mode cannot keep.
///
/// # Errors
/// As [`connect`] and [`migrate`].
pub async fn migrate_at(url: &str) -> Result<(), StoreError> {
    let pool = connect(url, 1).await?;
    let done = migrate(&pool).await;
    pool.close().await;
    done
}

/// Applies the migrations that are not yet applied (concurrent callers wait on a lock).
///
/// # Errors
/// [`StoreError::Unavailable`] when the database cannot be reached; [`StoreError::Unexpected`]
/// when a migration fails or the applied ones differ from the embedded ones.
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    MIGRATOR.run(pool).await.map_err(|e| match e {
        MigrateError::Execute(e) => error::store(e),
        other => StoreError::unexpected(other),
    })
}
