//! argon2id off the async runtime: each hash runs on the blocking pool, at most `permits` at
//! a time, inside the caller's tracing span. Metrics: `resetd_argon2_waiting` (callers
//! waiting for a permit), `resetd_argon2_wait_seconds` (the wait) and `resetd_argon2_seconds`
//! (one job: a hash, or the verification of a password against a list).

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
}

impl BlockingArgon2 {
    /// `permits`: how many hashes may run at once (the number of cores is a good value).
    ///
    /// # Errors
    /// [`HashError::Params`] for parameters argon2 refuses.
    pub fn new(params: Argon2Params, permits: usize) -> Result<Self, HashError> {
        Ok(Self { hasher: Argon2Hasher::new(params)?, permits: Arc::new(Semaphore::new(permits.max(1))) })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2Hasher) -> T + Send + 'static,
    ) -> Result<T, HasherError> {
        let queued = std::time::Instant::now();
        metrics::gauge!("resetd_argon2_waiting").increment(1);
        let permit = self.permits.acquire().await;
        metrics::gauge!("resetd_argon2_waiting").decrement(1);
        let _permit = permit.map_err(|_| HasherError::ShuttingDown)?;
        metrics::histogram!("resetd_argon2_wait_seconds").record(queued.elapsed());
        let hasher = self.hasher.clone();
        let span = tracing::Span::current();
        let started = std::time::Instant::now();
        let done = tokio::task::spawn_blocking(move || span.in_scope(|| work(&hasher))).await;
        metrics::histogram!("resetd_argon2_seconds").record(started.elapsed());
        done.map_err(|_| HasherError::Failed)
    }
}

#[async_trait]
impl PasswordHasher for BlockingArgon2 {
    async fn hash(&self, password: Password) -> Result<PasswordHash, HasherError> {
        self.run(move |h| h.hash(&password, &mut rand::rngs::OsRng)).await?.map_err(|_| HasherError::Failed)
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
        let h = BlockingArgon2::new(Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 }, 2).unwrap();
        let pw = Password::new("Tr4vel-by-Zeppelin".into()).unwrap();
        let hash = h.hash(pw.clone()).await.unwrap();
        assert!(h.matches_any(pw, vec![hash.clone()]).await.unwrap());
        assert!(!h.matches_any(Password::new("other".into()).unwrap(), vec![hash]).await.unwrap());
        assert!(!h.matches_any(Password::new("x".into()).unwrap(), vec![]).await.unwrap());
    }
}
