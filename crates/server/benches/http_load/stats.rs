//! The load generator and its statistics: a fixed number of connections for a bounded time
//! and count, then requests/s and latency percentiles.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Stats {
    name: String,
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    pub(crate) fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub(crate) fn pct(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }

    pub(crate) fn line(&self) -> String {
        format!(
            "{:<34} {:>10.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms  ({} requests, {} errors)",
            self.name,
            self.rps(),
            self.pct(0.5).as_secs_f64() * 1e3,
            self.pct(0.99).as_secs_f64() * 1e3,
            self.requests,
            self.errors
        )
    }
}

/// Runs `make_request` from `connections` workers for `seconds` (or until `max` requests).
pub(crate) async fn load<F, Fut>(name: &str, connections: usize, seconds: u64, max: usize, make_request: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make_request = Arc::new(make_request);
    let issued = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (f, issued, latencies, errors) =
                (make_request.clone(), issued.clone(), latencies.clone(), errors.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    let n = issued.fetch_add(1, Ordering::Relaxed);
                    if n >= max {
                        break;
                    }
                    let t = Instant::now();
                    if !f(n).await {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    mine.push(t.elapsed());
                }
                latencies.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(mine);
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed();
    let mut latencies = std::mem::take(&mut *latencies.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    latencies.sort();
    Stats {
        name: name.to_owned(),
        requests: latencies.len(),
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        latencies,
    }
}
