//! The driven ports of resetd: what the use cases need from the outside world, as
//! object-safe async traits (`#[async_trait]`, held as `Arc<dyn Port>`).
//!
//! Each method is one atomic business step in its adapter, never a generic CRUD call or a
//! transaction handle. The `mock` feature generates mockall mocks (`MockUserStore`, …) for the
//! `app` unit tests; the `testkit` feature ships [`testkit`], the contract suite every adapter
//! runs against its own implementation, so that memory, PostgreSQL and Redis behave alike.
//!
//! Reuse it to give a service resetd's storage without its HTTP layer, or to back a port
//! with your own store: implement the trait with `#[async_trait]`, map driver failures into
//! [`StoreError`] (whose `Display` never carries data), run each call through
//! [`budget::call`] so a request's backend time stays bounded, and pass the port's contract
//! function from `testkit` a fresh instance in your tests. Types in the signatures come from
//! `resetd-domain`.
//!
//! ```
//! use std::sync::{Arc, Mutex, PoisonError};
//!
//! use async_trait::async_trait;
//! use chrono::{DateTime, Utc};
//! use resetd_domain::policy::PasswordPolicy;
//! use resetd_ports::policy::{PolicyStore, StoredPolicy};
//! use resetd_ports::StoreError;
//!
//! /// The default policy, held in memory.
//! #[derive(Debug, Default)]
//! struct MemoryPolicy(Mutex<Option<StoredPolicy>>);
//!
//! #[async_trait]
//! impl PolicyStore for MemoryPolicy {
//!     async fn default_policy(&self) -> Result<Option<StoredPolicy>, StoreError> {
//!         Ok(self.0.lock().unwrap_or_else(PoisonError::into_inner).clone())
//!     }
//!
//!     async fn set_default_policy(&self, policy: &PasswordPolicy, now: DateTime<Utc>) -> Result<(), StoreError> {
//!         let stored = StoredPolicy { policy: policy.clone(), updated_at: now };
//!         *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(stored);
//!         Ok(())
//!     }
//! }
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! // Use cases hold the port as a trait object.
//! let store: Arc<dyn PolicyStore> = Arc::new(MemoryPolicy::default());
//! runtime.block_on(async {
//!     let strict = PasswordPolicy { min_length: 12, ..PasswordPolicy::default() };
//!     store.set_default_policy(&strict, Utc::now()).await?;
//!     assert_eq!(store.default_policy().await?.map(|s| s.policy), Some(strict));
//!     Ok::<_, StoreError>(())
//! })?;
//!
//! // The adapter's tests run the port's contract on a fresh instance (`testkit` feature,
//! // enabled on the adapter's dev-dependency); it panics on the first broken rule.
//! #[cfg(feature = "testkit")]
//! runtime.block_on(resetd_ports::testkit::policy_store(Arc::new(MemoryPolicy::default())));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod access;
pub mod audit;
pub mod breached;
pub mod budget;
pub mod clients;
pub mod clock;
pub mod credentials;
pub mod error;
pub mod hasher;
pub mod health;
pub mod keys;
pub mod login;
pub mod notify;
pub mod otp;
pub mod outbox;
pub mod policy;
pub mod rate_limit;
pub mod users;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use error::{BoxError, StoreError};
