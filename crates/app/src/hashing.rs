//! argon2id off the async runtime: each hash runs on the blocking pool, at most `permits` at
//! a time, inside the caller's tracing span. A job keeps its permit until it ends, even when
//! its caller went away, so no more than `permits` jobs ever run; at most `queue` callers wait
//! for a permit, and one more is shed at once ([`HasherError::Busy`], a 503 in the API's
//! dialect) rather than left waiting. Metrics: `resetd_argon2_waiting` (callers waiting for a
//! permit), `resetd_argon2_shed_total` (callers shed), `resetd_argon2_wait_seconds` (the wait)
//! and `resetd_argon2_seconds` (one job: a hash, or the verification of a password against a
//! list).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use resetd_domain::password::{Argon2Hasher, Argon2Params, HashError, Password, PasswordHash};
use resetd_ports::hasher::{HasherError, PasswordHasher};
use tokio::sync::Semaphore;

/// The production [`PasswordHasher`].
#[derive(Debug, Clone)]
pub struct BlockingArgon2 {
    hasher: Argon2Hasher,
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    queue: usize,
}

impl BlockingArgon2 {
    /// `permits`: how many hashes may run at once (the number of cores is a good value);
    /// `queue`: how many callers may wait for one.
    ///
    /// # Errors
    /// [`HashError::Params`] for parameters argon2 refuses.
    pub fn new(params: Argon2Params, permits: usize, queue: usize) -> Result<Self, HashError> {
        Ok(Self {
            hasher: Argon2Hasher::new(params)?,
            permits: Arc::new(Semaphore::new(permits.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            queue,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2Hasher) -> T + Send + 'static,
    ) -> Result<T, HasherError> {
        let queued = std::time::Instant::now();
        let permit = match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let _waiting = Waiting::join(&self.waiting, self.queue)?;
                Arc::clone(&self.permits).acquire_owned().await.map_err(|_| HasherError::ShuttingDown)?
            }
        };
        metrics::histogram!("resetd_argon2_wait_seconds").record(queued.elapsed());
        let hasher = self.hasher.clone();
        let span = tracing::Span::current();
        let started = std::time::Instant::now();
        // The permit goes with the job: it is released when the job ends, not when a caller
        // that went away stops waiting for it.
        let done = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            span.in_scope(|| work(&hasher))
        })
        .await;
        metrics::histogram!("resetd_argon2_seconds").record(started.elapsed());
        done.map_err(|_| HasherError::Failed)
    }
}

/// One caller in the queue for a permit, counted while it waits (also when it goes away).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn join(waiting: &'a AtomicUsize, queue: usize) -> Result<Self, HasherError> {
        let admitted = waiting.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < queue).then_some(n + 1));
        if admitted.is_err() {
            metrics::counter!("resetd_argon2_shed_total").increment(1);
            return Err(HasherError::Busy);
        }
        metrics::gauge!("resetd_argon2_waiting").increment(1);
        Ok(Self(waiting))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("resetd_argon2_waiting").decrement(1);
    }
}

#[async_trait]
impl PasswordHasher for BlockingArgon2 {
    async fn hash(&self, password: Password) -> Result<PasswordHash, HasherError> {
        self.run(move |h| h.hash(&password, &mut rand::rngs::OsRng)).await?.map_err(|_| HasherError::Failed)
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        self.hasher.needs_rehash(hash)
    }

    async fn matches_any(&self, password: Password, hashes: Vec<PasswordHash>) -> Result<bool, HasherError> {
        if hashes.is_empty() {
            return Ok(false);
        }
        self.run(move |h| h.matches_any(&password, &hashes)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_off_the_runtime_and_verifies() {
        let h = BlockingArgon2::new(Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 }, 2, 8).unwrap();
        let pw = Password::new("Tr4vel-by-Zeppelin".into()).unwrap();
        let hash = h.hash(pw.clone()).await.unwrap();
        assert!(h.matches_any(pw, vec![hash.clone()]).await.unwrap());
        assert!(!h.matches_any(Password::new("other".into()).unwrap(), vec![hash]).await.unwrap());
        assert!(!h.matches_any(Password::new("x".into()).unwrap(), vec![]).await.unwrap());
    }

    /// Fails on the main of before Hardening II: the queue had no bound, and a caller that
    /// went away released its permit while its job still ran.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_queue_is_bounded_and_a_job_keeps_its_permit_until_it_ends() {
        // Costly enough that jobs overlap: a few hundred ms each.
        let params = Argon2Params { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 };
        let h = BlockingArgon2::new(params, 1, 2).unwrap();
        let pw = || Password::new("Tr4vel-by-Zeppelin".into()).unwrap();
        // One runs, two wait, the fourth is shed.
        let first = tokio::spawn({
            let h = h.clone();
            async move { h.hash(pw()).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let h = h.clone();
                tokio::spawn(async move { h.hash(pw()).await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(matches!(h.hash(pw()).await, Err(HasherError::Busy)), "a full queue sheds the next caller");
        assert!(first.await.unwrap().is_ok());
        for w in waiting {
            assert!(w.await.unwrap().is_ok(), "the waiting ones run in turn");
        }

        // A caller that goes away: its job still holds the only permit until it ends.
        let gone = tokio::spawn({
            let h = h.clone();
            async move { h.hash(pw()).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        gone.abort();
        assert_eq!(h.permits.available_permits(), 0, "the abandoned job still runs with its permit");
        let next = h.hash(pw()).await;
        assert!(next.is_ok());
        assert_eq!(h.permits.available_permits(), 1);
    }
}
