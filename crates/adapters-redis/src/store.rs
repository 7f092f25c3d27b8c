//! The connection: one [`ConnectionManager`] (a multiplexed connection that reconnects by
//! itself) with bounded timeouts, and the deadline every operation runs under.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::RedisResult;
use resetd_ports::StoreError;

use crate::{error, keys};

/// How long one TCP connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long Redis may take to answer one command.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Connection attempts after the first one (at connect and on every reconnect).
const RETRIES: usize = 1;
/// Longest pause between two connection attempts, in milliseconds.
const MAX_RETRY_DELAY_MS: u64 = 200;
/// The deadline of one whole operation, reconnecting included, unless the request's backend
/// budget ends sooner ([`resetd_ports::budget`]): past it the caller gets
/// [`StoreError::Unavailable`] rather than waiting on.
const DEADLINE: Duration = Duration::from_secs(1);

/// OTP challenges, rate-limit windows, access-token and login sessions and login lockouts in
/// one Redis.
///
/// Cheap to clone (the connection is shared and multiplexed). Every key starts with the
/// configured prefix, so several deployments (or test runs) can share one Redis.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
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
        if !keys::valid_prefix(prefix) {
            return Err(StoreError::unexpected("the Redis key prefix must not contain '{' or '}'"));
        }
        let client = redis::Client::open(url).map_err(error::map)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(RETRIES)
            .set_max_delay(MAX_RETRY_DELAY_MS);
        let conn = deadline(ConnectionManager::new_with_config(client, config)).await?;
        Ok(Self { conn, prefix: prefix.to_owned() })
    }

    /// Round-trips a `PING` (readiness checks).
    ///
    /// # Errors
    /// [`StoreError`] when Redis does not answer in time.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let _: String = deadline(redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }

    /// A handle on the shared connection.
    pub(crate) fn conn(&self) -> ConnectionManager {
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
