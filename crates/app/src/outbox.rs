//! Delivering what committed changes owe: every process runs [`OutboxWorker::run_once`] on a
//! timer. Each due row is leased (so no two workers take it at once), delivered — its
//! credential generation published to the session store, its "password changed" notice sent —
//! and deleted; a failed delivery is tried again later, with a growing pause.

use std::sync::Arc;
use std::time::Duration;

use resetd_ports::notify::{Notice, Notification};
use resetd_ports::outbox::OutboxItem;

use crate::{fault, Context, Fault};

/// Rows taken per run.
const BATCH: u32 = 32;
/// How long a claimed row is another worker's to leave alone.
const LEASE: Duration = Duration::from_secs(30);
/// The pause before publishing a generation again: short whatever the attempts, so old
/// sessions end within about one poll interval of the session store's return.
const GENERATION_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between two tries of one row.
const MAX_PAUSE: Duration = Duration::from_secs(300);

/// The pause before the next try after `attempts` failed ones: 1 s, 2 s, 4 s, … up to 5 min.
pub(crate) fn pause_after(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.min(9)).min(MAX_PAUSE)
}

/// Delivers what committed changes owe (see the module); share one per process and call
/// [`Self::run_once`] on a timer.
#[derive(Debug, Clone)]
pub struct OutboxWorker {
    ctx: Arc<Context>,
}

impl OutboxWorker {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// Delivers the rows due now; answers how many were delivered.
    ///
    /// # Errors
    /// [`Fault`] when the outbox itself cannot be read or written (a delivery that fails
    /// is rescheduled, not an error).
    pub async fn run_once(&self) -> Result<usize, Fault> {
        let ports = &self.ctx.ports;
        let now = ports.clock.now();
        let due = ports.outbox.claim_due(now, LEASE, BATCH).await.map_err(fault("claiming outbox rows"))?;
        let mut delivered = 0;
        for item in due {
            match self.deliver(&item).await {
                Ok(()) => {
                    ports.outbox.done(item.id).await.map_err(fault("clearing an outbox row"))?;
                    delivered += 1;
                }
                Err((e, published)) => {
                    // An unpublished generation leaves old sessions alive: it is tried again
                    // at the next run, however long the session store was away. A notice
                    // backs off.
                    let pause = if published { pause_after(item.attempts) } else { GENERATION_PAUSE };
                    tracing::warn!(error = %e, outbox_id = item.id, attempts = item.attempts + 1, "an outbox delivery failed; it is tried again");
                    let at = now + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::MAX);
                    ports.outbox.retry(item.id, at).await.map_err(fault("rescheduling an outbox row"))?;
                }
            }
        }
        Ok(delivered)
    }

    /// Publishes, then notifies; on failure, whether the generation (if any) was published.
    async fn deliver(&self, item: &OutboxItem) -> Result<(), (Fault, bool)> {
        let ports = &self.ctx.ports;
        if let Some(generation) = item.generation {
            let ttl = self.ctx.settings.access_token_ttl;
            let published = ports.access_tokens.publish_generation(item.user_id, generation, ttl).await;
            published.map_err(|e| (Fault::new("publishing a credential generation", e), false))?;
        }
        if let Some(notice) = item.notice.clone() {
            let notification = Notification {
                to: notice.to,
                language: notice.language,
                name: notice.name,
                notice: Notice::PasswordChanged,
            };
            let sent = ports.notifier.send(notification).await;
            sent.map_err(|e| (Fault::new("sending a password-changed notice", e), true))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_stop_growing() {
        assert_eq!(pause_after(0), Duration::from_secs(1));
        assert_eq!(pause_after(3), Duration::from_secs(8));
        assert_eq!(pause_after(40), MAX_PAUSE);
    }
}
