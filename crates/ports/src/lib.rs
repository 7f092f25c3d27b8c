//! The driven ports of resetd: what the use cases need from the outside world, as
//! object-safe async traits (`#[async_trait]`, held as `Arc<dyn Port>`).
//!
//! Each method is one atomic business step in its adapter, never a generic CRUD call or a
//! transaction handle. The `mock` feature generates mockall mocks (`MockUserStore`, …) for the
//! `app` unit tests; the `testkit` feature ships [`testkit`], the contract suite every adapter
//! runs against its own implementation, so that memory, PostgreSQL and Redis behave alike.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod access;
pub mod audit;
pub mod budget;
pub mod clients;
pub mod clock;
pub mod credentials;
pub mod error;
pub mod hasher;
pub mod health;
pub mod keys;
pub mod notify;
pub mod otp;
pub mod outbox;
pub mod policy;
pub mod rate_limit;
pub mod users;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use error::{BoxError, StoreError};
