//! The CIAM loads: `POST /otp/send` to known and to unknown accounts, and `POST
//! /reset_user_password`, each run [`RUNS`] times on fresh accounts, destinations and codes.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{json, Value};

use crate::argon2::{self, HashRate};
use crate::cpu::Processes;
use crate::processes::{admin, psql};
use crate::stats::{load, repeat, repeat_between, Repeated, RUNS};
use crate::{servers, ADDR, CONNECTIONS, DB, SECONDS};

/// Known accounts' phones are `+1` and this plus their id (ten digits).
pub(crate) const KNOWN_PHONES: i64 = 2_000_000_000;
/// Unknown destinations are `+44` and this plus a per-run offset and the call's number.
const UNKNOWN_PHONES: u64 = 7_000_000_000;
/// Known accounts, one per send, so that no destination limit applies.
pub(crate) const KNOWN: i64 = 200_000;
/// Accounts reset per run.
const RESETS_PER_RUN: usize = 100;

/// The CIAM web client the loads authenticate as.
#[derive(Clone)]
pub(crate) struct WebClient {
    pub(crate) id: String,
    pub(crate) secret: String,
}

impl WebClient {
    pub(crate) async fn post(
        &self,
        c: &reqwest::Client,
        path: &str,
        body: Value,
    ) -> reqwest::Result<reqwest::Response> {
        c.post(format!("http://{ADDR}{path}")).basic_auth(&self.id, Some(&self.secret)).json(&body).send().await
    }
}

/// Creates the known accounts (with phones) for [`sends`]; the first one's id.
pub(crate) fn seed_known_accounts() -> i64 {
    psql(DB, &format!(
        "with u as (insert into users (first_name, created_at) select 'Known', now() from generate_series(1, {KNOWN}) returning id) \
         insert into credentials_email (user_id, email, created_at) select id, 'known-' || id || '@example.com', now() from u"
    ));
    psql(DB, &format!("update users set phone = '+1' || ({KNOWN_PHONES} + id)::text where first_name = 'Known'"));
    psql(DB, "analyze");
    crate::processes::psql_value(DB, "select min(user_id) from credentials_email where email like 'known-%'")
        .parse()
        .unwrap_or_else(|e| panic!("first known user: {e}"))
}

/// OTP sends to known accounts (a fresh one per send), [`RUNS`] runs from the accounts of
/// `block` (0 or 1: each block has its own), named `name`.
pub(crate) async fn known_sends(
    http: &reqwest::Client,
    p: &Processes,
    web: &WebClient,
    first_known: i64,
    block: usize,
    name: &str,
) -> Repeated {
    let per_run = (KNOWN as usize) / (2 * RUNS);
    repeat(p, |run| {
        let (c, web) = (http.clone(), web.clone());
        let first = first_known + ((block * RUNS + run) * per_run) as i64;
        load(name, CONNECTIONS, SECONDS, per_run, move |n| {
            let (c, web) = (c.clone(), web.clone());
            let phone = format!("+1{}", KNOWN_PHONES + first + n as i64);
            async move { ok(web.post(&c, "/otp/send", json!({"usage": "reset_password", "phone_number": phone})).await) }
        })
    })
    .await
}

/// OTP sends to unknown destinations (a fresh one per send).
pub(crate) async fn unknown_sends(http: &reqwest::Client, p: &Processes, web: &WebClient) -> Repeated {
    let pid = u64::from(std::process::id() % 1000) * 1_000_000;
    repeat(p, |run| {
        let (c, web) = (http.clone(), web.clone());
        load("POST /otp/send (unknown accounts)", CONNECTIONS, SECONDS, 300_000, move |n| {
            let (c, web) = (c.clone(), web.clone());
            let phone = format!("+44{}", UNKNOWN_PHONES + pid + (run * 300_000 + n) as u64);
            async move { ok(web.post(&c, "/otp/send", json!({"usage": "reset_password", "phone_number": phone})).await) }
        })
    })
    .await
}

fn ok(r: reqwest::Result<reqwest::Response>) -> bool {
    r.is_ok_and(|r| r.status().is_success())
}

/// Resets with codes: [`RESETS_PER_RUN`] accounts per run, each with four older passwords
/// besides the current one and a code collected by the gateway at `catcher`. The accounts and
/// their new passwords, for the logins that follow.
pub(crate) async fn resets(
    http: &reqwest::Client,
    p: &Processes,
    web: &WebClient,
    sms: &str,
    catcher: SocketAddr,
) -> Resets {
    let users = RESETS_PER_RUN * RUNS;
    let mut tokens = Vec::new();
    for i in 0..users {
        let phone = format!("+1555{:07}", 1_000_000 + i);
        let email = format!("r{i}@example.com");
        admin(&["admin", "create-user", "--email", &email, "--phone", &phone, "--password", "Old-Zeppelin-42"], sms);
        let sent = web.post(http, "/otp/send", json!({"usage": "reset_password", "phone_number": phone})).await;
        let sent: Value = sent.unwrap_or_else(|e| panic!("otp send: {e}")).json().await.unwrap_or_default();
        tokens.push((phone, sent["otp_token"].as_str().unwrap_or_default().to_owned()));
    }
    // A full history: four older passwords besides the current one.
    let hasher = resetd_domain::password::Argon2Hasher::new(resetd_domain::password::Argon2Params::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let older: Vec<String> = (0..4)
        .map(|i| {
            let p =
                resetd_domain::password::Password::new(format!("Older-Zeppelin-{i}")).unwrap_or_else(|e| panic!("{e}"));
            format!("('{}')", hasher.hash(&p, &mut rand::rngs::OsRng).unwrap_or_else(|e| panic!("{e}")).as_str())
        })
        .collect();
    psql(DB, &format!(
        "insert into password_history (user_id, hash, created_at) select u.id, h.hash, now() from users u cross join (values {}) h(hash) where u.phone like '+1555%'",
        older.join(",")
    ));
    let codes = servers::codes(http, catcher).await;
    let jobs: Arc<Vec<(String, String, String)>> =
        Arc::new(tokens.into_iter().map(|(p, t)| (codes.get(&p).cloned().unwrap_or_default(), p, t)).collect());
    let (rates, rps) = (RefCell::new(Vec::new()), Arc::new(Mutex::new(Vec::new())));
    let runs = repeat_between(
        p,
        || rates.borrow_mut().push(argon2::measure()),
        |run| {
            let (c, web, jobs, rps) = (http.clone(), web.clone(), jobs.clone(), rps.clone());
            let reset = load("POST /reset_user_password", CONNECTIONS, 30, RESETS_PER_RUN, move |n| {
                let (c, web, jobs) = (c.clone(), web.clone(), jobs.clone());
                let n = run * RESETS_PER_RUN + n;
                async move {
                    let (code, phone, token) = &jobs[n];
                    let body = json!({"password": format!("New-Zeppelin-{n}-ok"), "phone_number": phone,
                                  "phone_number_otp_token": token, "phone_number_otp": code});
                    ok(web.post(&c, "/reset_user_password", body).await)
                }
            });
            async move {
                let stats = reset.await;
                rps.lock().unwrap_or_else(PoisonError::into_inner).push(stats.rps());
                stats
            }
        },
    )
    .await;
    let rates = rates.into_inner();
    let rps = std::mem::take(&mut *rps.lock().unwrap_or_else(PoisonError::into_inner));
    // Each run against the mean of the measurements before and after it.
    let beside: Vec<HashRate> = rates.windows(2).map(|w| w[0].mean(w[1])).collect();
    let ratio = |bound: fn(HashRate) -> f64| {
        let mut r: Vec<f64> =
            rps.iter().zip(&beside).map(|(rps, rate)| rps / (bound(*rate) / HASHES_PER_RESET)).collect();
        argon2::median(&mut r)
    };
    let (alone, together) = (ratio(HashRate::bound), ratio(|r| r.together));
    let mut per_hash: Vec<f64> = beside.iter().map(|r| r.alone).collect();
    let mut at_once: Vec<f64> = beside.iter().map(|r| r.together).collect();
    let mut cpu: Vec<f64> = beside.iter().map(|r| r.cpu).collect();
    let rate = HashRate {
        alone: argon2::median(&mut per_hash),
        together: argon2::median(&mut at_once),
        cpu: argon2::median(&mut cpu),
    };
    let accounts = (0..users).map(|n| (format!("r{n}@example.com"), format!("New-Zeppelin-{n}-ok"))).collect();
    Resets { runs, accounts, rate, alone, together }
}

/// The hashes a reset really does: it verifies the new password against each of the history's
/// distinct hashes (the default policy's 5; the current password is the newest entry) and
/// hashes it once.
pub(crate) const HASHES_PER_RESET: f64 = 5.0 + 1.0;

/// The reset runs, the accounts they reset (email, new password), and the argon2 bounds
/// measured beside them.
pub(crate) struct Resets {
    pub(crate) runs: Repeated,
    pub(crate) accounts: Vec<(String, String)>,
    /// The median, over the runs, of the hash rates measured beside each.
    pub(crate) rate: HashRate,
    /// The median over the runs of resets/s ÷ `cores / (6 × one hash alone)`.
    pub(crate) alone: f64,
    /// The median over the runs of resets/s ÷ `(hashes/s, every core at once) / 6`.
    pub(crate) together: f64,
}
