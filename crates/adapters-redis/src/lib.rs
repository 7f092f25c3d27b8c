//! resetd's Redis adapters: OTP challenges ([`resetd_ports::otp::OtpStore`]), rate-limit
//! windows ([`resetd_ports::rate_limit::RateLimiter`]) and access-token sessions
//! ([`resetd_ports::access::AccessTokenStore`]), all on one [`RedisStore`].
//!
//! Every rule that must hold across resetd processes (single use of a code, attempt caps,
//! rate limits) is one Lua script on one key, so it is atomic on a single server and runs
//! unchanged on Redis Cluster (see [`keys`] for the layout and the hash-tag rule). Expiry is
//! a key's TTL: everything here may vanish without losing a durable fact.
//!
//! Redis errors never leave the crate: a connection, I/O or timeout failure becomes
//! [`resetd_ports::StoreError::Unavailable`], anything else
//! [`resetd_ports::StoreError::Unexpected`].

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod access;
mod error;
#[doc(hidden)]
pub mod keys;
mod otp;
mod rate_limit;
mod store;

pub use store::RedisStore;
