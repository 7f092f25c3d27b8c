//! Whether a delivery channel is failing, shared by every process: set by a failed delivery,
//! cleared by a good one, and consulted by every send, so that while a channel fails, unknown
//! and known addresses get the same answer.

use std::time::Duration;

use async_trait::async_trait;
use resetd_domain::otp::Channel;

use crate::StoreError;

/// Whether each delivery channel is failing, as every process sees it.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ChannelHealth: Send + Sync {
    /// Marks `channel` as failing for `for_at_most` (a later good delivery clears it sooner).
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn mark_failing(&self, channel: Channel, for_at_most: Duration) -> Result<(), StoreError>;

    /// A delivery on `channel` went through.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn mark_working(&self, channel: Channel) -> Result<(), StoreError>;

    /// Whether `channel` is marked failing.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn is_failing(&self, channel: Channel) -> Result<bool, StoreError>;
}
