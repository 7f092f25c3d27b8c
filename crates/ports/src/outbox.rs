//! The outbox: what a committed change still owes the world, written in the change's own
//! transaction and delivered with retries by every process's outbox worker, so a crash or an
//! outage after the commit loses nothing.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::locale::Language;
use resetd_domain::otp::Recipient;
use resetd_domain::user::UserId;

use crate::StoreError;

/// A "your password was changed" notice to send (it holds no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingNotice {
    /// Where it goes.
    pub to: Recipient,
    /// The language to write it in.
    pub language: Language,
    /// The user's name for the greeting, if known.
    pub name: Option<String>,
}

/// One owed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// The item's id, assigned by the store; given back to [`Outbox::done`] or [`Outbox::retry`].
    pub id: i64,
    /// The user whose change owes it.
    pub user_id: UserId,
    /// A credential generation to publish to the session store.
    pub generation: Option<i64>,
    /// A notice to send, if the change owes one.
    pub notice: Option<PendingNotice>,
    /// Deliveries tried before this one.
    pub attempts: u32,
}

/// The deliveries committed changes still owe, leased to workers and retried until done.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Up to `limit` items due at `now`, each leased for `lease` (another worker, in this
    /// process or another, does not get it until then) and counted as one more attempt.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn claim_due(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<OutboxItem>, StoreError>;

    /// The item was delivered: it is gone.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn done(&self, id: i64) -> Result<(), StoreError>;

    /// The delivery failed: try again at `at`.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn retry(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;
}
