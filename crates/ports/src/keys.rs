//! Which token key each long-lived record depends on, so an operator knows when an old key
//! can leave the ring (`resetd admin key-status`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::keyed::KeyId;

use crate::StoreError;

/// How many records depend on one key (`key: None`: digests written before key ids were
/// recorded, which any key of the ring may verify).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyUsage {
    /// The key counted.
    pub key: Option<KeyId>,
    /// API credentials whose secret digest names this key.
    pub api_credentials: u64,
    /// Clients whose secret digest names this key (public clients have none).
    pub clients: u64,
    /// Reset links still live at the time asked.
    pub reset_links: u64,
}

/// Counts, and labels, the stored digests that depend on each token key.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait KeyUsageStore: Send + Sync {
    /// One entry per key that some record depends on, in no particular order.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn usage(&self, now: DateTime<Utc>) -> Result<Vec<KeyUsage>, StoreError>;

    /// Labels every unlabelled digest with `key`. Only sound while `key` is the one key in
    /// force: a digest made under any other key could not verify anyway. Answers how many
    /// records were labelled.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn label_unlabelled(&self, key: KeyId) -> Result<u64, StoreError>;
}
