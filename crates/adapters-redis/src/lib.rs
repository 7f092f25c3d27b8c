//! resetd's Redis adapters: OTP challenges ([`resetd_ports::otp::OtpStore`]), rate-limit
//! windows ([`resetd_ports::rate_limit::RateLimiter`]), access-token sessions
//! ([`resetd_ports::access::AccessTokenStore`]), CIAM login sessions
//! ([`resetd_ports::login::RefreshTokenStore`]) and the login lockout
//! ([`resetd_ports::login::LoginLockout`]), all on one [`RedisStore`].
//!
//! Every rule that must hold across resetd processes (single use of a code, attempt caps,
//! rate limits, refresh-token rotation, lockout counts) is one Lua script, so it is atomic on
//! a single server and runs unchanged on Redis Cluster: every key one script touches shares a
//! hash tag. Expiry is a key's TTL: everything here may vanish without losing a durable fact
//! (a lost login session asks its user to log in again).
//!
//! Every key starts with the prefix given to [`RedisStore::connect`] (`P` below; it may not
//! contain braces), so several deployments or a host application can share one Redis:
//! `P{otp:<token digest>}:c` (a challenge), `Prl:{<limit key>}` (a rate-limit window),
//! `P{u:<user id>}:s:<token digest>` (a session), `P{u:<user id>}:g` (a user's credential
//! generation), `P{u:<user id>}:rf:<family id>` (a login session), `P{u:<user id>}:lf` and
//! `:lk` (a user's failed logins and lock; `P{n:<name digest>}:…` for a username naming
//! nobody) and `P{health:<channel>}` (a failing channel). Tokens, usernames, email addresses
//! and phone numbers appear only as keyed digests; rate-limit keys name client addresses and
//! ids.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use resetd_adapters_redis::RedisStore;
//! use resetd_ports::otp::OtpStore;
//! use resetd_ports::rate_limit::RateLimiter;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), resetd_ports::StoreError> {
//! let redis = Arc::new(RedisStore::connect("redis://127.0.0.1:6379", "shop:resetd:").await?);
//! redis.ping().await?;
//! // One store serves `otps`, `rate_limiter`, `health` and `access_tokens` of `resetd_app::Ports`,
//! // and the login sessions and lockout.
//! let otps: Arc<dyn OtpStore> = redis.clone();
//! let rate_limiter: Arc<dyn RateLimiter> = redis;
//! # let _ = (otps, rate_limiter);
//! # Ok(())
//! # }
//! ```
//!
//! Redis errors never leave the crate: a connection, I/O or timeout failure becomes
//! [`resetd_ports::StoreError::Unavailable`], anything else
//! [`resetd_ports::StoreError::Unexpected`].

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod access;
mod conn;
mod error;
mod keys;
mod lanes;
mod login;
mod otp;
mod rate_limit;
mod sentinel;
mod store;
mod topology;

pub use store::RedisStore;
pub use topology::{RedisMode, RedisTopology, SentinelTls};
