//! The HTTP load run of `make bench`: the release `resetd` binary in the production profile on
//! the local PostgreSQL and Redis, loaded over loopback, beside the floors it is compared to.
//!
//! 1. An empty axum handler (the HTTP floor) at the same concurrency.
//! 2. `POST …/credentials_email/password_reset` at 64 connections, and `pgbench` running the
//!    same SQL statements at the same concurrency.
//! 3. `POST /otp/send` (the SMS webhook into the bench's gateway) to known accounts and to unknown ones, beside `pgbench`
//!    running its user lookup: no handler that looks a user up can beat one `SELECT`.
//! 4. `POST /reset_user_password`, beside the argon2 bounds measured between its runs
//!    ([`argon2`]): `cores / (6 × one hash)` and every core hashing at once.
//! 5. `POST /oauth2/token`: the password grant beside one hash per login (`cores / one hash`),
//!    and the refresh grant beside the empty handler.
//!
//! Each load runs three times, bounded in time and count, against 127.0.0.1 only; the median
//! run is printed with the spread, and beside it what a request cost the machine: the CPU
//! time of resetd, PostgreSQL (every backend), Redis, the load generator and the SMS gateway
//! (each read from `/proc`; see [`cpu`]). The floor and the SMS gateway are this binary again,
//! each in its own process ([`servers`]). Results are printed as one table;
//! `docs/benchmarks.md` records them.

mod argon2;
mod ciam;
mod cpu;
mod flood;
mod logins;
mod processes;
mod servers;
mod stats;

use std::time::Duration;

use cpu::Processes;
use processes::{admin, pgbench_password_reset, pgbench_user_lookup, psql, serve};
use servers::{Helper, CATCHER, FLOOR};
use stats::{load, repeat};

use serde_json::{json, Value};

const DB: &str = "resetd_bench";
const ADDR: &str = "127.0.0.1:18181";
const CONNECTIONS: usize = 64;
/// The length of one run of a load.
const SECONDS: u64 = 5;

async fn wait_ready(http: &reqwest::Client) {
    for _ in 0..200 {
        if http.get(format!("http://{ADDR}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("resetd did not become ready");
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == argon2::FLAG) {
        argon2::print_rate();
        return;
    }
    if servers::run_if_asked().await {
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and a load run has no place in the test suite.
    if !std::env::args().any(|a| a == "--bench") {
        println!("http_load: run with `make bench` (cargo bench -p resetd-server --bench http_load)");
        return;
    }
    let http = reqwest::Client::builder().pool_max_idle_per_host(CONNECTIONS).build().unwrap_or_default();
    let mut table = Vec::new();
    let (floor, catcher) = (Helper::start(FLOOR), Helper::start(CATCHER));
    let sms = format!("http://{}/sms", catcher.addr);
    let mut procs = Processes {
        postmaster: cpu::postmaster(),
        redis: cpu::redis(),
        catcher: Some(catcher.pid()),
        ..Processes::default()
    };

    // 1. The HTTP floor: an empty axum handler, in its own process.
    let floor_procs = Processes { floor: Some(floor.pid()), ..Processes::default() };
    let floor_run = repeat(&floor_procs, |_| {
        let (c, addr) = (http.clone(), floor.addr);
        load("empty axum handler (floor)", CONNECTIONS, SECONDS, usize::MAX, move |_| {
            let c = c.clone();
            async move { c.post(format!("http://{addr}/empty")).send().await.is_ok_and(|r| r.status().is_success()) }
        })
    })
    .await;
    let (floor_rps, floor_ms) = (floor_run.rps(), floor_run.stack_ms());
    table.extend(floor_run.lines());

    // A fresh database, the server, an admin.
    psql("postgres", &format!("drop database if exists {DB} with (force)"));
    psql("postgres", &format!("create database {DB}"));
    admin(&["migrate"], &sms);
    let creds = admin(&["admin", "create-api-credentials", "--email", "bench-admin@example.com", "--admin"], &sms);
    let client = admin(&["admin", "create-client", "--type", "web", "--name", "bench"], &sms);
    let server = serve(&sms);
    procs.resetd = Some(server.pid());
    wait_ready(&http).await;

    let login: Value = http
        .post(format!("http://{ADDR}/api/4.0/login"))
        .form(&[
            ("client_id", creds["client_id"].as_str().unwrap_or_default()),
            ("client_secret", creds["client_secret"].as_str().unwrap_or_default()),
        ])
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|e| panic!("login: {e}"))
        .json()
        .await
        .unwrap_or_default();
    let token = login["access_token"].as_str().unwrap_or_default().to_owned();
    // Users to reset, so that concurrent calls do not all queue on one row.
    let mut user_ids = Vec::new();
    for i in 0..256 {
        let user: Value = http
            .post(format!("http://{ADDR}/api/4.0/users"))
            .bearer_auth(&token)
            .json(
                &json!({"first_name": "Bench", "credentials_email": {"email": format!("bench-user-{i}@example.com")}}),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("create user: {e}"))
            .json()
            .await
            .unwrap_or_default();
        user_ids.push(user["id"].as_str().unwrap_or_default().parse::<i64>().unwrap_or_default());
    }
    let (first, last) = (user_ids[0], user_ids[user_ids.len() - 1]);
    assert_eq!(last - first + 1, 256, "the bench users have consecutive ids");

    // 2. password_reset vs pgbench.
    let reset_link = repeat(&procs, |_| {
        let (c, t) = (http.clone(), token.clone());
        load("POST …/password_reset", CONNECTIONS, SECONDS, usize::MAX, move |n| {
            let (c, t) = (c.clone(), t.clone());
            let u = first + (n as i64 % 256);
            async move {
                c.post(format!("http://{ADDR}/api/4.0/users/{u}/credentials_email/password_reset?expires=true"))
                    .bearer_auth(&t)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
    })
    .await;
    let reset_rps = reset_link.rps();
    table.extend(reset_link.lines());
    // pgbench gets the database to itself: resetd's pool would hold 64 of its connections.
    drop(server);
    let pg = pgbench_password_reset("simple", CONNECTIONS, first, last);
    let pg_prepared = pgbench_password_reset("prepared", CONNECTIONS, first, last);

    // 3. otp/send to known accounts (one per call, so that no destination limit applies) and
    // to unknown ones, beside pgbench running the user lookup alone.
    let first_known = ciam::seed_known_accounts();
    let lookup = pgbench_user_lookup(CONNECTIONS);
    let server = serve(&sms);
    procs.resetd = Some(server.pid());
    wait_ready(&http).await;
    let web = ciam::WebClient {
        id: client["client_id"].as_str().unwrap_or_default().to_owned(),
        secret: client["client_secret"].as_str().unwrap_or_default().to_owned(),
    };
    let known = ciam::known_sends(&http, &procs, &web, first_known, 0, "POST /otp/send (known accounts)").await;
    // A fourth run of known sends under `perf record`, counted in no figure: where resetd's
    // CPU goes (target/bench-perf.txt).
    let profile = procs.resetd.and_then(processes::perf_record);
    if let Some(record) = profile {
        let (c, w) = (http.clone(), web.clone());
        let first = ciam::KNOWN_PHONES + first_known + 27_000;
        let _ = load("profiled known sends", CONNECTIONS, SECONDS, 6_000, move |n| {
            let (c, w) = (c.clone(), w.clone());
            async move {
                let body = json!({"usage": "reset_password", "phone_number": format!("+1{}", first + n as i64)});
                w.post(&c, "/otp/send", body).await.is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
        let summary = processes::perf_report(record);
        table.push("perf, resetd during known sends (target/bench-perf.txt):".into());
        table.extend(summary.into_iter().take(8).map(|l| format!("    {}", l.trim())));
    }
    let unknown = ciam::unknown_sends(&http, &procs, &web).await;
    let (otp_known_rps, otp_rps, otp_known_ms) = (known.rps(), unknown.rps(), known.stack_ms());
    table.extend(known.lines());
    table.extend(unknown.lines());
    // The same sends on the same binary built with mimalloc (`make bench` builds it; see the
    // Makefile), the server restarted on it.
    let other = std::env::var("RESETD_BENCH_OTHER_ALLOCATOR").ok().filter(|p| std::path::Path::new(p).exists());
    let mimalloc_ms = if let Some(binary) = other {
        drop(server);
        let server = processes::serve_binary(&binary, &sms);
        procs.resetd = Some(server.pid());
        wait_ready(&http).await;
        let name = "  … on mimalloc";
        let run = ciam::known_sends(&http, &procs, &web, first_known, 1, name).await;
        table.extend(run.lines());
        drop(server);
        Some((run.stack_ms(), run.resetd_ms()))
    } else {
        drop(server);
        None
    };
    let server = serve(&sms);
    procs.resetd = Some(server.pid());
    wait_ready(&http).await;

    // 4. reset_user_password: users with phones, one code each, collected by the gateway.
    let resets = ciam::resets(&http, &procs, &web, &sms, catcher.addr).await;
    table.extend(resets.runs.lines());

    // 5. The token endpoint, as the users just reset.
    let (password, refresh) = logins::run(&http, &procs, &web.id, &web.secret, resets.accounts).await;
    let after_logins = argon2::measure();
    table.extend(password.lines());
    table.extend(refresh.lines());

    // 6. The flood, under production default limits, with clients of its own.
    drop(server);
    let client = |name: &str| {
        let made = admin(&["admin", "create-client", "--type", "web", "--name", name], &sms);
        let field = |k: &str| made[k].as_str().unwrap_or_default().to_owned();
        ciam::WebClient { id: field("client_id"), secret: field("client_secret") }
    };
    let (legit, flooder) = ([web.clone(), client("bench-second")], client("bench-flood"));
    let server = processes::serve_defaults(&sms);
    procs.resetd = Some(server.pid());
    wait_ready(&http).await;
    // Known accounts nobody has sent to: the tail of the last block's last run.
    let first_phone = (ciam::KNOWN_PHONES + first_known + ciam::KNOWN - 4_500) as u64;
    table.extend(flood::run(&procs, legit, flooder, first_phone, floor_ms).await);
    drop(server);

    println!(
        "\nresetd HTTP load run ({CONNECTIONS} connections, {} runs of {SECONDS} s each, loopback, production profile)\n",
        stats::RUNS
    );
    for line in &table {
        println!("  {line}");
    }
    let cores = argon2::cores();
    match (pg, pg_prepared) {
        (Some(simple), Some(prepared)) => {
            let (simple_tps, prepared_tps) = (simple.tps, prepared.tps);
            println!("  pgbench, simple protocol           {simple_tps:>10.0} tx/s   (the statements of one call, {CONNECTIONS} clients; PostgreSQL CPU/tx {:.3} ms)", simple.pg_ms);
            println!("  pgbench, prepared statements       {prepared_tps:>10.0} tx/s   (as sqlx sends them; PostgreSQL CPU/tx {:.3} ms)", prepared.pg_ms);
            println!("  password_reset / pgbench simple    {:>10.0} %", 100.0 * reset_rps / simple_tps);
            println!("  password_reset / pgbench prepared  {:>10.0} %", 100.0 * reset_rps / prepared_tps);
            // Where the gap to pgbench goes: PostgreSQL's own work per call against pgbench's,
            // and the ceiling the whole machine's CPU per call sets on these cores.
            let (pg_ms, machine_ms) = (reset_link.postgres_ms(), reset_link.machine_ms());
            println!(
                "  password_reset: PostgreSQL CPU/call{pg_ms:>10.3} ms = {:.0} % of pgbench prepared's per tx",
                100.0 * pg_ms / prepared.pg_ms
            );
            let ceiling = cores as f64 / (machine_ms / 1e3);
            println!(
                "  … whole machine CPU/call {machine_ms:.3} ms: ceiling {ceiling:.0} req/s on {cores} cores = {:.0} % of pgbench prepared",
                100.0 * ceiling / prepared_tps
            );
        }
        _ => println!("  pgbench                            not run (is pgbench installed?)"),
    }
    println!("  otp/send known / floor             {:>10.0} %", 100.0 * otp_known_rps / floor_rps);
    println!(
        "  otp/send known: stack CPU/request  {:>10.3} ms = {:.1} × the floor's {:.3} ms",
        otp_known_ms,
        otp_known_ms / floor_ms,
        floor_ms
    );
    println!(
        "  otp/send known: resetd's CPU       {:>10.3} ms = {:.1} × the floor's",
        known.resetd_ms(),
        known.resetd_ms() / floor_ms
    );
    match mimalloc_ms {
        Some((stack, own)) => println!(
            "  mimalloc / system allocator        {:>10.0} %   (resetd's CPU per known send: {own:.3} vs {:.3} ms; stack {stack:.3} vs {otp_known_ms:.3})",
            100.0 * own / known.resetd_ms(),
            known.resetd_ms()
        ),
        None => println!("  mimalloc                           not measured (make bench builds it)"),
    }
    println!("  otp/send unknown / floor           {:>10.0} %", 100.0 * otp_rps / floor_rps);
    if let Some(processes::Pgbench { tps, pg_ms }) = lookup {
        // A handler that did nothing but the floor's HTTP work and this one SELECT, on the
        // same two cores: the two costs add up.
        let ceiling = 1.0 / (1.0 / floor_rps + 1.0 / tps);
        println!("  pgbench, the user lookup alone     {tps:>10.0} tx/s   ({CONNECTIONS} clients, prepared; PostgreSQL CPU/tx {pg_ms:.3} ms)");
        println!(
            "  floor + one lookup (ceiling)       {:>10.0} req/s  = {:.0} % of the floor",
            ceiling,
            100.0 * ceiling / floor_rps
        );
        println!("  otp/send unknown / ceiling         {:>10.0} %", 100.0 * otp_rps / ceiling);
    }
    let rate = resets.rate;
    println!(
        "  one argon2id hash alone            {:>10.1} ms   (m=19456, t=2; median beside the reset runs)",
        rate.alone * 1e3
    );
    println!(
        "  every core hashing at once         {:>10.1} hashes/s = {:.0} % of {cores} × one alone",
        rate.together,
        100.0 * rate.together / rate.bound()
    );
    let per_reset = ciam::HASHES_PER_RESET;
    println!(
        "  resetd's CPU per reset             {:>10.1} ms = {:.0} % of six hashes' CPU ({:.1} ms each, thread CPU time)",
        resets.runs.resetd_ms(),
        100.0 * resets.runs.resetd_ms() / (1e3 * per_reset * rate.cpu),
        rate.cpu * 1e3
    );
    println!(
        "  argon2 bound cores/(6·hash alone)  {:>10.1} resets/s   (the hashes a reset does)",
        rate.bound() / per_reset
    );
    println!("  resets / that bound                {:>10.0} %   (median of the runs' ratios)", 100.0 * resets.alone);
    println!("  argon2 bound, every core at once   {:>10.1} resets/s", rate.together / per_reset);
    println!("  resets / that bound                {:>10.0} %", 100.0 * resets.together);
    println!(
        "  argon2 bound cores/hash (logins)   {:>10.1} logins/s   (measured after the logins)",
        after_logins.bound()
    );
    println!("  password grant / argon2 bound      {:>10.0} %", 100.0 * password.rps() / after_logins.bound());
    println!("  password grant / every core at once{:>10.0} %", 100.0 * password.rps() / after_logins.together);
    println!("  refresh grant / floor              {:>10.0} %", 100.0 * refresh.rps() / floor_rps);
}
