//! Audit events of OTP sends, written in batches by a background writer, as a decorator of the
//! [`AuditLog`] port: a send then costs the database no statement and no commit of its own.
//!
//! Only [`AuditKind::OtpSent`] is batched. Every other event (a password change above all) is
//! written before its request answers, as before. A batched event is queued (a bounded queue:
//! when it is full the event is written directly, so a burst slows sends rather than dropping
//! events) and the writer writes whatever is queued, up to [`MAX_BATCH`] at once, as soon as
//! it is free: under load the batches grow, at rest each event goes alone, without waiting.
//!
//! What a crash can lose: the events queued and not yet written, at most the queue's
//! capacity, in practice those of the last write's round trip. A graceful stop writes them all
//! first ([`AuditWriter::run`] drains the queue when told to stop). A batch the store refuses is
//! retried three times, then logged as lost with its size.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use resetd_domain::user::UserId;
use resetd_ports::audit::{AuditEvent, AuditKind, AuditLog};
use resetd_ports::StoreError;
use tokio::sync::mpsc;

/// The most events one write carries.
pub const MAX_BATCH: usize = 512;
/// The pauses before the retries of a refused batch.
const RETRY_AFTER: [Duration; 3] = [Duration::from_millis(50), Duration::from_millis(250), Duration::from_secs(1)];

/// An [`AuditLog`] that queues OTP-send events for an [`AuditWriter`] and passes the rest on.
pub struct BatchedAudit {
    inner: Arc<dyn AuditLog>,
    queue: mpsc::Sender<AuditEvent>,
}

impl std::fmt::Debug for BatchedAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchedAudit").field("queued", &(self.queue.max_capacity() - self.queue.capacity())).finish()
    }
}

impl BatchedAudit {
    /// Batches OTP-send events for `inner`, queueing at most `capacity`; the writer must run
    /// ([`AuditWriter::run`]) for them to be written.
    #[must_use]
    pub fn new(inner: Arc<dyn AuditLog>, capacity: usize) -> (Arc<Self>, AuditWriter) {
        let (queue, events) = mpsc::channel(capacity.max(1));
        (Arc::new(Self { inner: inner.clone(), queue }), AuditWriter { inner, events })
    }
}

#[async_trait]
impl AuditLog for BatchedAudit {
    async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
        if event.kind != AuditKind::OtpSent {
            return self.inner.record(event).await;
        }
        match self.queue.try_send(event) {
            Ok(()) => Ok(()),
            // Full, or the writer has stopped: write it now.
            Err(mpsc::error::TrySendError::Full(event) | mpsc::error::TrySendError::Closed(event)) => {
                self.inner.record(event).await
            }
        }
    }

    async fn record_many(&self, events: Vec<AuditEvent>) -> Result<(), StoreError> {
        self.inner.record_many(events).await
    }

    async fn for_user(&self, user: UserId, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        self.inner.for_user(user, limit).await
    }
}

/// Writes the queued events of a [`BatchedAudit`].
pub struct AuditWriter {
    inner: Arc<dyn AuditLog>,
    events: mpsc::Receiver<AuditEvent>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter").finish_non_exhaustive()
    }
}

impl AuditWriter {
    /// Writes batches until `stop` completes, then stops taking events (they are written
    /// directly from then on) and writes what is queued.
    pub async fn run(mut self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let first = tokio::select! {
                biased;
                event = self.events.recv() => match event {
                    Some(event) => event,
                    None => return,
                },
                () = &mut stop => break,
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match self.events.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            self.write(batch).await;
        }
        self.events.close();
        let mut rest = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            rest.push(event);
            if rest.len() == MAX_BATCH {
                self.write(std::mem::take(&mut rest)).await;
            }
        }
        if !rest.is_empty() {
            self.write(rest).await;
        }
    }

    async fn write(&self, batch: Vec<AuditEvent>) {
        let mut result = self.inner.record_many(batch.clone()).await;
        for pause in RETRY_AFTER {
            if result.is_ok() {
                return;
            }
            tokio::time::sleep(pause).await;
            result = self.inner.record_many(batch.clone()).await;
        }
        if let Err(e) = result {
            tracing::error!(error = %e, lost = batch.len(), "OTP-send audit events could not be written");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use chrono::{TimeZone as _, Utc};

    use super::*;

    /// Keeps every write it was given, one entry per call; refuses the first `refusals`.
    #[derive(Default)]
    struct Trail {
        writes: Mutex<Vec<Vec<AuditEvent>>>,
        refusals: AtomicUsize,
        slow: bool,
    }

    #[async_trait]
    impl AuditLog for Trail {
        async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
            self.record_many(vec![event]).await
        }

        async fn record_many(&self, events: Vec<AuditEvent>) -> Result<(), StoreError> {
            if self.slow {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let refused = self.refusals.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if refused.is_ok() {
                return Err(StoreError::unavailable("refused"));
            }
            self.writes.lock().unwrap().push(events);
            Ok(())
        }

        async fn for_user(&self, _: UserId, _: u32) -> Result<Vec<AuditEvent>, StoreError> {
            Ok(Vec::new())
        }
    }

    impl Trail {
        fn events(&self) -> usize {
            self.writes.lock().unwrap().iter().map(Vec::len).sum()
        }
        fn calls(&self) -> usize {
            self.writes.lock().unwrap().len()
        }
    }

    fn event(kind: AuditKind, n: i64) -> AuditEvent {
        let at = Utc.timestamp_opt(1_700_000_000 + n, 0).unwrap();
        AuditEvent { at, kind, user_id: None, actor: "ciam:test".into(), detail: format!("{n}") }
    }

    #[tokio::test]
    async fn other_events_are_written_before_record_returns_and_sends_wait_for_the_writer() {
        let trail = Arc::new(Trail::default());
        let (audit, writer) = BatchedAudit::new(trail.clone(), 16);
        audit.record(event(AuditKind::PasswordChanged, 0)).await.unwrap();
        assert_eq!(trail.events(), 1, "a password change is never queued");
        audit.record(event(AuditKind::OtpSent, 1)).await.unwrap();
        assert_eq!(trail.events(), 1, "a send is queued");
        writer.run(async {}).await;
        assert_eq!(trail.events(), 2, "stopping writes what is queued");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_sends_are_written_together_and_none_is_lost() {
        let trail = Arc::new(Trail { slow: true, ..Trail::default() });
        let (audit, writer) = BatchedAudit::new(trail.clone(), 4096);
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = stop.clone();
        let writing = tokio::spawn(writer.run(async move { stopped.notified().await }));
        let sends = (0..1000).map(|n| {
            let audit = audit.clone();
            tokio::spawn(async move { audit.record(event(AuditKind::OtpSent, n)).await })
        });
        for send in sends.collect::<Vec<_>>() {
            send.await.unwrap().unwrap();
        }
        stop.notify_one();
        writing.await.unwrap();
        assert_eq!(trail.events(), 1000);
        assert!(trail.calls() < 200, "batched: {} writes for 1000 events", trail.calls());
        let mut details: Vec<i64> =
            trail.writes.lock().unwrap().iter().flatten().map(|e| e.detail.parse().unwrap()).collect();
        details.sort_unstable();
        assert_eq!(details, (0..1000).collect::<Vec<_>>(), "each once");
    }

    #[tokio::test]
    async fn a_full_queue_writes_directly() {
        let trail = Arc::new(Trail::default());
        let (audit, _writer) = BatchedAudit::new(trail.clone(), 2);
        for n in 0..3 {
            audit.record(event(AuditKind::OtpSent, n)).await.unwrap();
        }
        assert_eq!(trail.events(), 1, "the third found the queue full");
    }

    #[tokio::test]
    async fn a_refused_batch_is_retried() {
        let trail = Arc::new(Trail { refusals: AtomicUsize::new(2), ..Trail::default() });
        let (audit, writer) = BatchedAudit::new(trail.clone(), 16);
        for n in 0..5 {
            audit.record(event(AuditKind::OtpSent, n)).await.unwrap();
        }
        writer.run(async {}).await;
        assert_eq!((trail.events(), trail.calls()), (5, 1), "written once, after two refusals");
    }
}
