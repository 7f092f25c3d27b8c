//! The load generator and its statistics: a fixed number of connections for a bounded time
//! and count, then requests/s and latency percentiles.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cpu::{self, Cpu, Processes};

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

    pub(crate) fn requests(&self) -> usize {
        self.requests
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

/// How many times each load runs; the median run is reported, with the spread.
pub(crate) const RUNS: usize = 3;

/// One load, run [`RUNS`] times, each with the CPU every process used.
pub(crate) struct Repeated {
    /// Sorted by requests/s.
    runs: Vec<(Stats, Cpu)>,
}

impl Repeated {
    fn median(&self) -> &(Stats, Cpu) {
        &self.runs[self.runs.len() / 2]
    }

    /// The median run's requests/s.
    pub(crate) fn rps(&self) -> f64 {
        self.median().0.rps()
    }

    /// The median over the runs of the whole stack's CPU per request, in ms.
    pub(crate) fn stack_ms(&self) -> f64 {
        self.median_ms(Cpu::stack)
    }

    /// The median over the runs of resetd's own CPU per request, in ms.
    pub(crate) fn resetd_ms(&self) -> f64 {
        self.median_ms(|c| c.resetd)
    }

    /// The median over the runs of PostgreSQL's CPU per request (every backend), in ms.
    pub(crate) fn postgres_ms(&self) -> f64 {
        self.median_ms(|c| c.postgres)
    }

    /// The median over the runs of the whole machine's CPU per request (the stack and the load
    /// generator), in ms.
    pub(crate) fn machine_ms(&self) -> f64 {
        self.median_ms(|c| c.stack() + c.loadgen)
    }

    fn median_ms(&self, part: impl Fn(&Cpu) -> f64) -> f64 {
        let mut ms: Vec<f64> = self.runs.iter().map(|(s, c)| 1e3 * part(c) / s.requests.max(1) as f64).collect();
        ms.sort_by(f64::total_cmp);
        ms[ms.len() / 2]
    }

    /// The median run's line, the spread of the runs, and its CPU per request.
    pub(crate) fn lines(&self) -> Vec<String> {
        let (stats, cpu) = self.median();
        let (low, high) = (self.runs[0].0.rps(), self.runs[self.runs.len() - 1].0.rps());
        vec![
            format!("{}  [median of {}: {low:.0}–{high:.0} req/s]", stats.line(), self.runs.len()),
            format!("    {}", cpu.per_request(stats.requests)),
        ]
    }
}

/// Runs `one(run)` [`RUNS`] times, reading the CPU of `processes` around each.
pub(crate) async fn repeat<F, Fut>(processes: &Processes, one: F) -> Repeated
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Stats>,
{
    repeat_between(processes, || {}, one).await
}

/// [`repeat`], calling `between` before every run and after the last, outside the CPU
/// readings (for measuring a bound beside the runs).
pub(crate) async fn repeat_between<B, F, Fut>(processes: &Processes, mut between: B, mut one: F) -> Repeated
where
    B: FnMut(),
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Stats>,
{
    let mut runs = Vec::new();
    for run in 0..RUNS {
        between();
        let before = cpu::read(processes);
        let stats = one(run).await;
        runs.push((stats, cpu::read(processes) - before));
    }
    between();
    runs.sort_by(|a, b| a.0.rps().total_cmp(&b.0.rps()));
    Repeated { runs }
}
