//! The outbox in memory: rows written under the same lock as the change that owes them.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::user::UserId;
use resetd_ports::outbox::{Outbox, OutboxItem, PendingNotice};
use resetd_ports::StoreError;

use crate::{MemoryStore, State};

/// One owed delivery and when it is next due.
#[derive(Debug, Clone)]
pub(crate) struct OutboxRow {
    item: OutboxItem,
    due: DateTime<Utc>,
}

impl State {
    /// Writes an outbox row, due at once; called inside the write that owes it.
    pub(crate) fn owe(
        &mut self,
        user_id: UserId,
        generation: Option<i64>,
        notice: Option<PendingNotice>,
        now: DateTime<Utc>,
    ) {
        self.next_outbox += 1;
        let item = OutboxItem { id: self.next_outbox, user_id, generation, notice, attempts: 0 };
        self.outbox.push(OutboxRow { item, due: now });
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn claim_due(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<OutboxItem>, StoreError> {
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let mut s = self.lock();
        let mut claimed = Vec::new();
        for row in s.outbox.iter_mut().filter(|r| r.due <= now).take(usize::try_from(limit).unwrap_or(usize::MAX)) {
            claimed.push(row.item.clone());
            row.item.attempts += 1;
            row.due = until;
        }
        Ok(claimed)
    }

    async fn done(&self, id: i64) -> Result<(), StoreError> {
        self.lock().outbox.retain(|r| r.item.id != id);
        Ok(())
    }

    async fn retry(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(row) = self.lock().outbox.iter_mut().find(|r| r.item.id == id) {
            row.due = at;
        }
        Ok(())
    }
}
