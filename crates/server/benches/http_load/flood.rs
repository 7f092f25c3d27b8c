//! 6. The flood, under production default limits: rejected requests at the load generator's
//!    top rate from 127.0.0.1 (a wrong client secret, sends to one rate-limited number,
//!    malformed bodies, in turn), beside a steady stream of legitimate sends from twenty other
//!    addresses (127.0.1.1–20, one a second each, split over two clients, so no default limit
//!    refuses them). Reported: the legitimate stream's p50/p99 alone and under the flood, and
//!    the whole stack's CPU per rejected request beside the empty handler's, then where it
//!    goes: resetd's cheapest route (`GET /healthz`, its middleware alone) and each kind of
//!    rejected request on its own.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::ciam::WebClient;
use crate::cpu::{self, Processes};
use crate::stats::load;
use crate::{ADDR, CONNECTIONS};

/// Legitimate senders, each from its own address, one send a second.
const SENDERS: u8 = 20;
/// How long each part of a rejected request's cost is measured.
const PART: Duration = Duration::from_secs(3);
/// How long the stream runs, alone and under the flood.
const STREAM: Duration = Duration::from_secs(10);

/// The legitimate stream for [`STREAM`]: every latency, sorted, and the failures.
async fn stream(clients: &[WebClient; 2], first_phone: u64, offset: u64) -> (Vec<Duration>, usize) {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(0usize));
    let senders: Vec<_> = (0..SENDERS)
        .map(|i| {
            let local = IpAddr::V4(Ipv4Addr::new(127, 0, 1, i + 1));
            let http = reqwest::Client::builder().local_address(local).build().unwrap_or_default();
            let (web, latencies, failures) = (clients[usize::from(i) % 2].clone(), latencies.clone(), failures.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                for n in 0..STREAM.as_secs() {
                    tick.tick().await;
                    let phone = format!("+1{}", first_phone + offset + u64::from(i) * 100 + n);
                    let t = Instant::now();
                    let ok =
                        web.post(&http, "/otp/send", json!({"usage": "reset_password", "phone_number": phone})).await;
                    let ok = ok.is_ok_and(|r| r.status().is_success());
                    latencies.lock().unwrap_or_else(PoisonError::into_inner).push(t.elapsed());
                    if !ok {
                        *failures.lock().unwrap_or_else(PoisonError::into_inner) += 1;
                    }
                }
            })
        })
        .collect();
    for s in senders {
        let _ = s.await;
    }
    let mut all = std::mem::take(&mut *latencies.lock().unwrap_or_else(PoisonError::into_inner));
    all.sort();
    let failed = *failures.lock().unwrap_or_else(PoisonError::into_inner);
    (all, failed)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted.get(((sorted.len().max(1) - 1) as f64 * p).round() as usize).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// One rejected request of the flood, of kind `n % 3`, as the client `web` (the first kind
/// guesses the secret of the legitimate client `victim` instead); whether it was refused.
async fn rejected(c: &reqwest::Client, web: &WebClient, victim: &str, n: usize) -> bool {
    let url = format!("http://{ADDR}/otp/send");
    let answer = match n % 3 {
        0 => c.post(&url).basic_auth(victim, Some("not-the-secret")).json(&json!({"usage": "reset_password"})).send(),
        1 => c
            .post(&url)
            .basic_auth(&web.id, Some(&web.secret))
            .json(&json!({"usage": "reset_password", "phone_number": "+15550000001"}))
            .send(),
        _ => c.post(&url).basic_auth(&web.id, Some(&web.secret)).body("{\"usage\": ").send(),
    };
    answer.await.is_ok_and(|r| r.status().is_client_error())
}

/// The flood (as the client `flooder`, and guessing the first legitimate client's secret) and
/// the stream (as `clients`); the lines of the table. `first_phone` starts 2 × 2,000 unused
/// known accounts' numbers.
pub(crate) async fn run(
    p: &Processes,
    clients: [WebClient; 2],
    flooder: WebClient,
    first_phone: u64,
    floor_ms: f64,
) -> Vec<String> {
    let victim = clients[0].id.clone();
    let (idle, idle_failed) = stream(&clients, first_phone, 0).await;

    // The flood alone, for its cost.
    let http = reqwest::Client::builder().pool_max_idle_per_host(CONNECTIONS).build().unwrap_or_default();
    let before = cpu::read(p);
    let (c, web, v) = (http.clone(), flooder.clone(), victim.clone());
    let alone = load("flood of rejected requests", CONNECTIONS, 5, usize::MAX, move |n| {
        let (c, web, v) = (c.clone(), web.clone(), v.clone());
        async move { rejected(&c, &web, &v, n).await }
    })
    .await;
    let used = cpu::read(p) - before;

    // The flood and the stream together.
    let (c, web, v) = (http.clone(), flooder.clone(), victim);
    let flood = tokio::spawn(load("flood", CONNECTIONS, STREAM.as_secs() + 1, usize::MAX, move |n| {
        let (c, web, v) = (c.clone(), web.clone(), v.clone());
        async move { rejected(&c, &web, &v, n).await }
    }));
    let (busy, busy_failed) = stream(&clients, first_phone, 2_000).await;
    let _ = flood.await;

    let per_rejected = 1e3 * used.stack() / alone.requests().max(1) as f64;
    let mut lines = vec![
        alone.line(),
        format!("    {}", used.per_request(alone.requests())),
        format!(
            "legitimate sends, alone             p50 {:>8.2} ms  p99 {:>8.2} ms  ({} sends, {idle_failed} failed)",
            pct(&idle, 0.5),
            pct(&idle, 0.99),
            idle.len()
        ),
        format!(
            "legitimate sends, under the flood   p50 {:>8.2} ms  p99 {:>8.2} ms  ({} sends, {busy_failed} failed)",
            pct(&busy, 0.5),
            pct(&busy, 0.99),
            busy.len()
        ),
        format!("flood: p99 under it / p99 alone      {:>10.1} ×", pct(&busy, 0.99) / pct(&idle, 0.99).max(1e-9)),
        format!(
            "flood: stack CPU per rejected       {per_rejected:>10.3} ms = {:.1} × the floor's",
            per_rejected / floor_ms
        ),
    ];
    lines.extend(parts(p, &http, &flooder, &clients[0].id, floor_ms).await);
    lines
}

/// Where a rejected request's cost goes: resetd's cheapest route (`GET /healthz`: its
/// middleware and nothing else), then each kind of the flood alone, for [`PART`] each.
async fn parts(p: &Processes, http: &reqwest::Client, flooder: &WebClient, victim: &str, floor_ms: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let kinds = [
        "GET /healthz (resetd's middleware)",
        "  … wrong client secret",
        "  … rate-limited send",
        "  … malformed body",
    ];
    for (kind, name) in kinds.into_iter().enumerate() {
        let (c, web, v) = (http.clone(), flooder.clone(), victim.to_owned());
        let before = cpu::read(p);
        let run = load(name, CONNECTIONS, PART.as_secs(), usize::MAX, move |n| {
            let (c, web, v) = (c.clone(), web.clone(), v.clone());
            async move {
                if kind == 0 {
                    let r = c.get(format!("http://{ADDR}/healthz")).send().await;
                    return r.is_ok_and(|r| r.status().is_success());
                }
                // The flood's kinds in the same order: 3n + kind - 1.
                rejected(&c, &web, &v, 3 * n + kind - 1).await
            }
        })
        .await;
        let used = cpu::read(p) - before;
        let ms = 1e3 * used.stack() / run.requests().max(1) as f64;
        lines.push(format!(
            "{name:<34} {:>10.0} req/s  stack {ms:.3} ms = {:.1} × the floor's",
            run.rps(),
            ms / floor_ms
        ));
        lines.push(format!("    {}", used.per_request(run.requests())));
    }
    lines
}
